// Serves Better Auth on 127.0.0.1:$PORT.
import http from "node:http";
import { toNodeHandler } from "better-auth/node";
import { auth } from "./auth.mjs";

const port = Number(process.env.PORT ?? 3000);
http.createServer(toNodeHandler(auth)).listen(port, "127.0.0.1");
