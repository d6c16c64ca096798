// The Better Auth instance: email and password sign-in, and the JWT plugin,
// whose tokens todo-store-web verifies (EdDSA by default; the key set is
// served at /api/auth/jwks). Its tables live in AUTH_DB.
import { betterAuth } from "better-auth";
import { jwt } from "better-auth/plugins";
import pg from "pg";

const baseURL = process.env.BASE_URL ?? `http://localhost:${process.env.PORT ?? "3000"}`;
if (!process.env.BETTER_AUTH_SECRET) throw new Error("set BETTER_AUTH_SECRET");

export const auth = betterAuth({
  baseURL,
  secret: process.env.BETTER_AUTH_SECRET,
  database: new pg.Pool({ connectionString: process.env.AUTH_DB }),
  emailAndPassword: { enabled: true },
  plugins: [jwt()],
});
