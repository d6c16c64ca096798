//! Bearer tokens to owners (cargo feature `jwt`): tokens signed here with the
//! fixed test keys of `tests/fixtures/jwt/`, verified, and mapped to accounts
//! in a real database. Every rejected token is also offered to
//! `owner_from_token` with `OnMissingSubject::Create`, and the whole database
//! must be unchanged afterwards: a rejected token never reaches it.

#![allow(clippy::unwrap_used)]

mod common;

use std::{
    path::Path,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
use serde_json::{Value, json};
use todo_store::{
    Entity, Error, MAX_DISPLAY_NAME_CHARS, MAX_EMAIL_CHARS, NewProfile, NewUser, OnMissingSubject,
    UserRepo,
    jwt::{
        self, AuthError, Claim, ConfigError, Hs256Secret, Keys, MAX_TOKEN_BYTES, TokenError,
        Verifier, VerifierConfig,
    },
};
use todo_store_tests::TestDb;

use common::{count_rows, dump_db, unique_email};

const ISSUER: &str = "https://auth.example.com";
const AUDIENCE: &str = "todo-api";
const HS_SECRET: &str = "test-only shared secret for HS256 tokens";
/// The subject of tokens that should never create an account.
const NEWCOMER: &str = "better-auth|newcomer";

// --- keys and tokens ---------------------------------------------------------

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/jwt")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

fn now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    i64::try_from(secs).unwrap()
}

/// An Ed25519 public key from its PEM fixture, as the JWK Better Auth's
/// `/api/auth/jwks` serves.
fn ed_jwk(name: &str, kid: &str) -> Value {
    let pem = fixture(&format!("{name}.pub.pem"));
    let base64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = STANDARD.decode(base64).unwrap();
    // An Ed25519 SubjectPublicKeyInfo: a fixed 12-byte prefix, then the key.
    assert_eq!(der.len(), 44, "{name} is not an Ed25519 public key");
    json!({"crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(&der[12..]), "kty": "OKP", "kid": kid, "alg": "EdDSA"})
}

/// The public half of `key` as a JWK marked for `alg`, as Better Auth serves
/// its keys (`kid`, `kty`, `alg`, and `crv`/`x`/`y` or `n`/`e`).
fn public_jwk(key: &EncodingKey, alg: Algorithm, kid: &str) -> Value {
    let mut jwk = serde_json::to_value(Jwk::from_encoding_key(key, alg).unwrap()).unwrap();
    jwk["kid"] = json!(kid);
    jwk
}

/// An RSA public key (from its private key fixture) as a JWK for RS256.
fn rsa_jwk(name: &str, kid: &str) -> Value {
    let mut jwk = public_jwk(&rsa_key(name), Algorithm::RS256, kid);
    jwk["use"] = json!("sig");
    jwk
}

/// An EC public key (from its private key fixture, P-256 for ES256 or P-384
/// for ES384) as a JWK.
fn ec_jwk(name: &str, alg: Algorithm, kid: &str) -> Value {
    public_jwk(&ec_key(name), alg, kid)
}

fn jwks(keys: &[Value]) -> String {
    json!({ "keys": keys }).to_string()
}

fn verifier_with(keys: Keys) -> Verifier {
    Verifier::new(VerifierConfig::new(ISSUER, AUDIENCE, keys)).unwrap()
}

/// Trusts `ed25519_a` (kid `key-a`) and `ed25519_b` (kid `key-b`).
fn eddsa_verifier() -> Verifier {
    let keys = jwks(&[ed_jwk("ed25519_a", "key-a"), ed_jwk("ed25519_b", "key-b")]);
    verifier_with(Keys::jwks_json(&keys).unwrap())
}

fn hs256_verifier() -> Verifier {
    verifier_with(Keys::hs256(Hs256Secret::new(HS_SECRET).unwrap()))
}

/// Claims as Better Auth's JWT plugin issues them: the user's profile, then
/// `iat`, `iss`, `aud`, `exp` (15 minutes) and `sub`.
fn claims(sub: &str) -> Value {
    json!({
        "id": sub,
        "email": "sam@example.com",
        "emailVerified": true,
        "name": "Sam",
        "iat": now(),
        "iss": ISSUER,
        "aud": AUDIENCE,
        "exp": now() + 900,
        "sub": sub,
    })
}

/// `claims` with `name` set to `value`, or removed if `value` is null.
fn with(mut claims: Value, name: &str, value: Value) -> Value {
    let map = claims.as_object_mut().unwrap();
    if value.is_null() {
        map.remove(name);
    } else {
        map.insert(name.to_owned(), value);
    }
    claims
}

fn ed_key(name: &str) -> EncodingKey {
    EncodingKey::from_ed_pem(fixture(&format!("{name}.pem")).as_bytes()).unwrap()
}

fn ec_key(name: &str) -> EncodingKey {
    EncodingKey::from_ec_pem(fixture(&format!("{name}.pem")).as_bytes()).unwrap()
}

fn rsa_key(name: &str) -> EncodingKey {
    EncodingKey::from_rsa_pem(fixture(&format!("{name}.pem")).as_bytes()).unwrap()
}

fn sign(alg: Algorithm, kid: Option<&str>, claims: &Value, key: &EncodingKey) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

/// Signed with the Ed25519 fixture `key`, under `kid`.
fn ed_token(key: &str, kid: Option<&str>, claims: &Value) -> String {
    sign(Algorithm::EdDSA, kid, claims, &ed_key(key))
}

fn hs_token(secret: &[u8], claims: &Value) -> String {
    sign(
        Algorithm::HS256,
        None,
        claims,
        &EncodingKey::from_secret(secret),
    )
}

/// A compact JWS of exactly this header and payload, signed with `key` under
/// `alg` if given, else with an empty signature.
fn raw_token(header: &Value, payload: &[u8], key: Option<(&EncodingKey, Algorithm)>) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature = match key {
        Some((key, alg)) => jsonwebtoken::crypto::sign(message.as_bytes(), key, alg).unwrap(),
        None => String::new(),
    };
    format!("{message}.{signature}")
}

// --- assertions --------------------------------------------------------------

/// Fails unless `token` is rejected with `expected`, by the verifier alone
/// and by `owner_from_token` before the database is asked: offered with
/// `OnMissingSubject::Create`, it leaves every row as it was.
#[track_caller]
fn assert_rejected(db: &TestDb, verifier: &Verifier, token: &str, expected: TokenError) {
    assert_eq!(verifier.verify(token), Err(expected), "token {token}");
    let mut conn = db.conn();
    let before = dump_db(&mut conn);
    let create = OnMissingSubject::Create(NewProfile::new(unique_email("first-sight")));
    let result = jwt::owner_from_token(&mut conn, verifier, token, create);
    assert_eq!(result, Err(AuthError::Token(expected)), "token {token}");
    assert_eq!(dump_db(&mut conn), before, "token {token}");
    // Nothing of the token in the messages.
    for message in [expected.to_string(), AuthError::Token(expected).to_string()] {
        for part in token.split('.').filter(|part| part.len() > 3) {
            assert!(!message.contains(part), "{message:?} quotes the token");
        }
        assert!(!message.contains(HS_SECRET), "{message:?}");
    }
}

/// An account linked to `subject`, made by the library.
fn linked_account(db: &TestDb, subject: &str) -> todo_store::User {
    db.conn()
        .create_user(NewUser::new(unique_email("linked")).auth_subject(subject))
        .unwrap()
}

// --- accepted tokens ---------------------------------------------------------

#[test]
fn a_valid_eddsa_token_yields_the_owner_of_the_account_with_its_subject() {
    let db = TestDb::new();
    let ada = linked_account(&db, "better-auth|ada");
    let _other = linked_account(&db, "better-auth|bob");
    let mut store = db.store();
    let verifier = eddsa_verifier();
    let claims = claims("better-auth|ada");
    let token = ed_token("ed25519_a", Some("key-a"), &claims);

    let verified = verifier.verify(&token).unwrap();
    assert_eq!(verified.subject(), "better-auth|ada");
    assert_eq!(verified.email(), Some("sam@example.com"));
    assert_eq!(verified.name(), Some("Sam"));
    assert_eq!(
        verified.expires_at().timestamp(),
        claims["exp"].as_i64().unwrap()
    );

    let (user, owner) =
        jwt::owner_from_token(&mut store, &verifier, &token, OnMissingSubject::Reject).unwrap();
    assert_eq!(user, ada);
    assert_eq!(owner.user_id(), ada.id);
    // The same through a plain connection, and from the verified subject.
    let (again, owner_again) = verified
        .owner(&mut db.conn(), OnMissingSubject::Reject)
        .unwrap();
    assert_eq!((again, owner_again), (user, owner));
}

#[test]
fn a_new_subject_with_create_gets_an_account_once_and_the_same_one_after() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let verifier = eddsa_verifier();
    let email = unique_email("sam");
    let first = ed_token(
        "ed25519_a",
        Some("key-a"),
        &with(claims(NEWCOMER), "email", json!(email)),
    );

    // The profile from the token's own claims.
    let verified = verifier.verify(&first).unwrap();
    let profile = NewProfile::new(verified.email().unwrap()).display_name(verified.name().unwrap());
    let (user, owner) = verified
        .owner(&mut conn, OnMissingSubject::Create(profile))
        .unwrap();
    assert_eq!(user.auth_subject.as_deref(), Some(NEWCOMER));
    assert_eq!(user.email, email);
    assert_eq!(user.display_name.as_deref(), Some("Sam"));
    assert!(!user.has_password);
    assert_eq!(count_rows(&mut conn, "users"), 1);

    // Second sight, another token (other key, later `iat`): the same account.
    let second = ed_token(
        "ed25519_b",
        Some("key-b"),
        &with(claims(NEWCOMER), "iat", json!(now() + 1)),
    );
    let create = OnMissingSubject::Create(NewProfile::new(unique_email("someone-else")));
    let (again, owner_again) =
        jwt::owner_from_token(&mut conn, &verifier, &second, create).unwrap();
    assert_eq!((again, owner_again), (user, owner));
    assert_eq!(count_rows(&mut conn, "users"), 1);
}

#[test]
fn a_valid_token_for_an_unknown_subject_under_reject_finds_no_account() {
    let db = TestDb::new();
    linked_account(&db, "better-auth|ada");
    let mut conn = db.conn();
    let before = dump_db(&mut conn);
    let token = ed_token("ed25519_a", Some("key-a"), &claims(NEWCOMER));
    let result = jwt::owner_from_token(
        &mut conn,
        &eddsa_verifier(),
        &token,
        OnMissingSubject::Reject,
    );
    assert_eq!(result, Err(AuthError::Store(Error::NotFound(Entity::User))));
    assert!(!result.unwrap_err().is_retryable());
    assert_eq!(dump_db(&mut conn), before);
}

#[test]
fn the_kid_selects_the_key_among_several() {
    let db = TestDb::new();
    let verifier = eddsa_verifier();
    let claims = claims(NEWCOMER);
    for (key, kid) in [("ed25519_a", "key-a"), ("ed25519_b", "key-b")] {
        let token = ed_token(key, Some(kid), &claims);
        assert_eq!(verifier.verify(&token).unwrap().subject(), NEWCOMER);
    }
    // Each key's signature only under its own id.
    for (key, kid) in [("ed25519_a", "key-b"), ("ed25519_b", "key-a")] {
        let token = ed_token(key, Some(kid), &claims);
        assert_rejected(&db, &verifier, &token, TokenError::BadSignature);
    }
}

#[test]
fn a_kid_the_key_set_does_not_hold_is_an_unknown_key() {
    let db = TestDb::new();
    let verifier = eddsa_verifier();
    let claims = claims(NEWCOMER);
    let token = ed_token("ed25519_a", Some("key-z"), &claims);
    assert_rejected(&db, &verifier, &token, TokenError::UnknownKey);
    // Without a kid, two keys leave the choice open: refused, not guessed.
    let token = ed_token("ed25519_a", None, &claims);
    assert_rejected(&db, &verifier, &token, TokenError::UnknownKey);
    // A set of one key needs no kid.
    let single = verifier_with(Keys::jwks_json(&jwks(&[ed_jwk("ed25519_a", "key-a")])).unwrap());
    assert_eq!(single.verify(&token).unwrap().subject(), NEWCOMER);
    let wrong = ed_token("ed25519_wrong", None, &claims);
    assert_rejected(&db, &single, &wrong, TokenError::BadSignature);
}

// --- rejected tokens: time, issuer, audience, claims ---------------------------

#[test]
fn a_token_expired_beyond_the_leeway_is_rejected_and_within_it_accepted() {
    let db = TestDb::new();
    let verifier = eddsa_verifier(); // default leeway: 30 s
    let expired = |ago: i64| {
        let claims = with(claims(NEWCOMER), "iat", json!(now() - 1000));
        ed_token(
            "ed25519_a",
            Some("key-a"),
            &with(claims, "exp", json!(now() - ago)),
        )
    };
    assert_rejected(&db, &verifier, &expired(120), TokenError::Expired);
    assert_rejected(&db, &verifier, &expired(3600), TokenError::Expired);
    assert_eq!(
        verifier.verify(&expired(10)).unwrap().subject(),
        NEWCOMER,
        "10 s late is within the leeway"
    );
    // Without leeway, the same token is too late.
    let keys = Keys::jwks_json(&jwks(&[ed_jwk("ed25519_a", "key-a")])).unwrap();
    let strict =
        Verifier::new(VerifierConfig::new(ISSUER, AUDIENCE, keys).leeway(Duration::ZERO)).unwrap();
    assert_rejected(&db, &strict, &expired(10), TokenError::Expired);
}

#[test]
fn a_token_not_valid_yet_beyond_the_leeway_is_rejected() {
    let db = TestDb::new();
    let verifier = eddsa_verifier();
    let not_before = |ahead: i64| {
        ed_token(
            "ed25519_a",
            Some("key-a"),
            &with(claims(NEWCOMER), "nbf", json!(now() + ahead)),
        )
    };
    assert_rejected(&db, &verifier, &not_before(120), TokenError::NotYetValid);
    assert_eq!(
        verifier.verify(&not_before(10)).unwrap().subject(),
        NEWCOMER
    );
    assert_eq!(
        verifier.verify(&not_before(-60)).unwrap().subject(),
        NEWCOMER
    );
}

#[test]
fn a_token_from_another_issuer_is_rejected() {
    let db = TestDb::new();
    let verifier = eddsa_verifier();
    for (iss, expected) in [
        (json!("https://evil.example.com"), TokenError::WrongIssuer),
        (json!("https://auth.example.com/"), TokenError::WrongIssuer),
        (Value::Null, TokenError::MissingClaim(Claim::Iss)),
    ] {
        let token = ed_token(
            "ed25519_a",
            Some("key-a"),
            &with(claims(NEWCOMER), "iss", iss),
        );
        assert_rejected(&db, &verifier, &token, expected);
    }
}

#[test]
fn a_token_for_another_audience_is_rejected() {
    let db = TestDb::new();
    let verifier = eddsa_verifier();
    for (aud, expected) in [
        (json!("another-api"), TokenError::WrongAudience),
        (
            json!(["another-api", "a-third-api"]),
            TokenError::WrongAudience,
        ),
        (json!([]), TokenError::WrongAudience),
        (Value::Null, TokenError::MissingClaim(Claim::Aud)),
    ] {
        let token = ed_token(
            "ed25519_a",
            Some("key-a"),
            &with(claims(NEWCOMER), "aud", aud),
        );
        assert_rejected(&db, &verifier, &token, expected);
    }
    // One audience among several is enough.
    let token = ed_token(
        "ed25519_a",
        Some("key-a"),
        &with(claims(NEWCOMER), "aud", json!(["another-api", AUDIENCE])),
    );
    assert_eq!(verifier.verify(&token).unwrap().subject(), NEWCOMER);
}

#[test]
fn a_token_without_a_usable_exp_or_sub_is_rejected() {
    let db = TestDb::new();
    let verifier = eddsa_verifier();
    for (claim, value, expected) in [
        ("exp", Value::Null, TokenError::MissingClaim(Claim::Exp)),
        (
            "exp",
            json!("tomorrow"),
            TokenError::MissingClaim(Claim::Exp),
        ),
        ("exp", json!(-5), TokenError::MissingClaim(Claim::Exp)),
        ("sub", Value::Null, TokenError::MissingClaim(Claim::Sub)),
        ("sub", json!(42), TokenError::MissingClaim(Claim::Sub)),
        ("sub", json!(""), TokenError::InvalidClaim(Claim::Sub)),
        ("nbf", json!("now"), TokenError::InvalidClaim(Claim::Nbf)),
    ] {
        let token = ed_token(
            "ed25519_a",
            Some("key-a"),
            &with(claims(NEWCOMER), claim, value),
        );
        assert_rejected(&db, &verifier, &token, expected);
    }
}

// --- rejected tokens: keys, algorithms, tampering, shape --------------------

#[test]
fn a_token_signed_with_another_key_is_rejected() {
    let db = TestDb::new();
    let verifier = eddsa_verifier();
    for kid in ["key-a", "key-b"] {
        let token = ed_token("ed25519_wrong", Some(kid), &claims(NEWCOMER));
        assert_rejected(&db, &verifier, &token, TokenError::BadSignature);
    }
}

#[test]
fn an_unsigned_alg_none_token_is_rejected() {
    let db = TestDb::new();
    let payload = claims(NEWCOMER).to_string();
    for verifier in [eddsa_verifier(), hs256_verifier()] {
        for header in [
            json!({"alg": "none"}),
            json!({"alg": "none", "typ": "JWT", "kid": "key-a"}),
            json!({"alg": "None", "kid": "key-a"}),
            json!({"alg": "", "kid": "key-a"}),
        ] {
            let token = raw_token(&header, payload.as_bytes(), None);
            assert!(token.ends_with('.'));
            assert_rejected(&db, &verifier, &token, TokenError::UnsupportedAlgorithm);
        }
    }
    // Without any `alg`, it is not a JWS at all.
    let token = raw_token(&json!({"kid": "key-a"}), payload.as_bytes(), None);
    assert_rejected(&db, &eddsa_verifier(), &token, TokenError::Malformed);
}

#[test]
fn an_hmac_token_is_rejected_by_a_public_key_verifier_and_the_reverse() {
    let db = TestDb::new();
    let claims = claims(NEWCOMER);
    let eddsa = eddsa_verifier();

    // An honest HS256 token, and the classic confusion attack: HS256 "signed"
    // with the verifier's public key as the secret.
    let public_jwk = ed_jwk("ed25519_a", "key-a");
    let public_key = URL_SAFE_NO_PAD
        .decode(public_jwk["x"].as_str().unwrap())
        .unwrap();
    for secret in [
        HS_SECRET.as_bytes(),
        public_key.as_slice(),
        fixture("ed25519_a.pub.pem").as_bytes(),
    ] {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("key-a".into());
        let token =
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(secret)).unwrap();
        assert_rejected(&db, &eddsa, &token, TokenError::UnsupportedAlgorithm);
    }

    // And an EdDSA token, valid for the EdDSA verifier, to an HS256 one.
    let token = ed_token("ed25519_a", Some("key-a"), &claims);
    assert!(eddsa.verify(&token).is_ok());
    assert_rejected(
        &db,
        &hs256_verifier(),
        &token,
        TokenError::UnsupportedAlgorithm,
    );
}

#[test]
fn a_tampered_token_is_rejected() {
    let db = TestDb::new();
    let ada = linked_account(&db, "better-auth|ada");
    let verifier = eddsa_verifier();
    let token = ed_token("ed25519_a", Some("key-a"), &claims("better-auth|mallory"));
    let [header, payload, signature]: [&str; 3] =
        token.split('.').collect::<Vec<_>>().try_into().unwrap();

    // Mallory's token, rewritten to say she is Ada: the signature is kept.
    let json = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let forged = json.replace("better-auth|mallory", "better-auth|ada");
    assert_ne!(forged, json);
    let forged_token = format!("{header}.{}.{signature}", URL_SAFE_NO_PAD.encode(forged));
    assert_rejected(&db, &verifier, &forged_token, TokenError::BadSignature);
    let result = jwt::owner_from_token(
        &mut db.conn(),
        &verifier,
        &forged_token,
        OnMissingSubject::Reject,
    );
    assert!(
        !matches!(&result, Ok((user, _)) if user.id == ada.id),
        "{result:?}"
    );

    // A longer `exp`, another header, a cut or flipped signature.
    let claims: Value = serde_json::from_str(&json).unwrap();
    let later = with(claims, "exp", json!(now() + 86_400 * 365)).to_string();
    let header_b = URL_SAFE_NO_PAD.encode(r#"{"typ":"JWT","alg":"EdDSA","kid":"key-b"}"#);
    let mut flipped = URL_SAFE_NO_PAD.decode(signature).unwrap();
    let cut = URL_SAFE_NO_PAD.encode(&flipped[..flipped.len() - 3]);
    flipped[10] ^= 1;
    for tampered in [
        format!("{header}.{}.{signature}", URL_SAFE_NO_PAD.encode(later)),
        format!("{header_b}.{payload}.{signature}"),
        format!("{header}.{payload}.{cut}"),
        format!("{header}.{payload}.{}", URL_SAFE_NO_PAD.encode(flipped)),
        format!("{header}.{payload}."),
    ] {
        assert_rejected(&db, &verifier, &tampered, TokenError::BadSignature);
    }
}

#[test]
fn malformed_tokens_are_rejected() {
    let db = TestDb::new();
    let verifier = eddsa_verifier();
    let valid = ed_token("ed25519_a", Some("key-a"), &claims(NEWCOMER));
    let [header, payload, signature]: [&str; 3] =
        valid.split('.').collect::<Vec<_>>().try_into().unwrap();
    let key = ed_key("ed25519_a");
    let ed_header = json!({"alg": "EdDSA", "kid": "key-a"});
    for token in [
        String::new(),
        "not a token".to_owned(),
        "a.b".to_owned(),
        "..".to_owned(),
        "a.b.c.d".to_owned(),
        format!("{valid}.{signature}"),
        format!("{header}.{payload}.{signature}.x.y"), // JWE-shaped
        format!("Bearer {valid}"),
        format!(" {valid}"),
        format!("{valid}\n"),
        format!("{header}=.{payload}.{signature}"),
        format!("!{}.{payload}.{signature}", &header[1..]),
        format!(
            "{}.{payload}.{signature}",
            URL_SAFE_NO_PAD.encode("{not json")
        ),
        format!("{}.{payload}.{signature}", URL_SAFE_NO_PAD.encode("[]")),
        // Validly signed, but the payload is not a JSON object.
        raw_token(&ed_header, b"not json", Some((&key, Algorithm::EdDSA))),
        raw_token(&ed_header, b"[1,2]", Some((&key, Algorithm::EdDSA))),
        // Validly signed, but demanding an extension nobody implements.
        raw_token(
            &json!({"alg": "EdDSA", "kid": "key-a", "crit": ["exp"]}),
            claims(NEWCOMER).to_string().as_bytes(),
            Some((&key, Algorithm::EdDSA)),
        ),
        // Validly signed, claims duplicated to confuse whoever reads them.
        raw_token(
            &ed_header,
            format!(
                r#"{{"sub":"a","sub":"b","iss":"{ISSUER}","aud":"{AUDIENCE}","exp":{}}}"#,
                now() + 60
            )
            .as_bytes(),
            Some((&key, Algorithm::EdDSA)),
        ),
        // The same for a claim of the application's own: `claims()` shows
        // every claim, so none may be read two ways.
        raw_token(
            &ed_header,
            format!(
                r#"{{"sub":"a","iss":"{ISSUER}","aud":"{AUDIENCE}","exp":{},"role":"user","role":"admin"}}"#,
                now() + 60
            )
            .as_bytes(),
            Some((&key, Algorithm::EdDSA)),
        ),
        // Over the size limit, however valid the rest would be.
        format!("{valid}{}", "A".repeat(MAX_TOKEN_BYTES)),
    ] {
        assert_rejected(&db, &verifier, &token, TokenError::Malformed);
    }
}

#[test]
fn hs256_tokens_verify_with_the_shared_secret_only() {
    let db = TestDb::new();
    let ada = linked_account(&db, "better-auth|ada");
    let verifier = hs256_verifier();
    let token = hs_token(HS_SECRET.as_bytes(), &claims("better-auth|ada"));
    let (user, owner) =
        jwt::owner_from_token(&mut db.store(), &verifier, &token, OnMissingSubject::Reject)
            .unwrap();
    assert_eq!((user.id, owner.user_id()), (ada.id, ada.id));
    // A `kid` is not needed, and not in the way.
    let with_kid = sign(
        Algorithm::HS256,
        Some("whatever"),
        &claims("better-auth|ada"),
        &EncodingKey::from_secret(HS_SECRET.as_bytes()),
    );
    assert!(verifier.verify(&with_kid).is_ok());

    let other = hs_token(
        b"another secret of the same length, 40 b",
        &claims(NEWCOMER),
    );
    assert_rejected(&db, &verifier, &other, TokenError::BadSignature);
    let prefix = hs_token(&HS_SECRET.as_bytes()[..32], &claims(NEWCOMER));
    assert_rejected(&db, &verifier, &prefix, TokenError::BadSignature);
    // HS384 with the right secret: not the algorithm this key is for.
    let hs384 = sign(
        Algorithm::HS384,
        None,
        &claims(NEWCOMER),
        &EncodingKey::from_secret(HS_SECRET.as_bytes()),
    );
    assert_rejected(&db, &verifier, &hs384, TokenError::UnsupportedAlgorithm);
}

#[test]
fn rs256_tokens_verify_against_rsa_keys_of_the_key_set() {
    let db = TestDb::new();
    let keys = jwks(&[ed_jwk("ed25519_a", "ed"), rsa_jwk("rsa_2048", "rsa")]);
    let verifier = verifier_with(Keys::jwks_json(&keys).unwrap());
    let rsa = rsa_key("rsa_2048");
    let claims = claims(NEWCOMER);

    let token = sign(Algorithm::RS256, Some("rsa"), &claims, &rsa);
    assert_eq!(verifier.verify(&token).unwrap().subject(), NEWCOMER);
    // Both kinds of key in one set, each for its own algorithm only.
    let eddsa = ed_token("ed25519_a", Some("ed"), &claims);
    assert!(verifier.verify(&eddsa).is_ok());
    let crossed = sign(Algorithm::RS256, Some("ed"), &claims, &rsa);
    assert_rejected(&db, &verifier, &crossed, TokenError::UnsupportedAlgorithm);
    let crossed = ed_token("ed25519_a", Some("rsa"), &claims);
    assert_rejected(&db, &verifier, &crossed, TokenError::UnsupportedAlgorithm);
    // The same RSA key, other RSA algorithms.
    for alg in [Algorithm::RS512, Algorithm::PS256] {
        let token = sign(alg, Some("rsa"), &claims, &rsa);
        assert_rejected(&db, &verifier, &token, TokenError::UnsupportedAlgorithm);
    }
    // HS256 keyed with the RSA public key: the other classic confusion.
    let public = fixture("rsa_2048.pub.pem");
    let confused = sign(
        Algorithm::HS256,
        Some("rsa"),
        &claims,
        &EncodingKey::from_secret(public.as_bytes()),
    );
    assert_rejected(&db, &verifier, &confused, TokenError::UnsupportedAlgorithm);
    // A tampered RS256 token.
    let [h, _, s]: [&str; 3] = token.split('.').collect::<Vec<_>>().try_into().unwrap();
    let other_payload = URL_SAFE_NO_PAD.encode(with(claims.clone(), "sub", json!("x")).to_string());
    assert_rejected(
        &db,
        &verifier,
        &format!("{h}.{other_payload}.{s}"),
        TokenError::BadSignature,
    );
}

#[test]
fn es256_tokens_verify_against_p256_keys_of_the_key_set() {
    let db = TestDb::new();
    let ada = linked_account(&db, "better-auth|ada");
    let keys = jwks(&[
        ed_jwk("ed25519_a", "ed"),
        ec_jwk("p256_a", Algorithm::ES256, "ec"),
    ]);
    let verifier = verifier_with(Keys::jwks_json(&keys).unwrap());
    let ec = ec_key("p256_a");
    let claims = claims("better-auth|ada");

    let token = sign(Algorithm::ES256, Some("ec"), &claims, &ec);
    let (user, owner) =
        jwt::owner_from_token(&mut db.store(), &verifier, &token, OnMissingSubject::Reject)
            .unwrap();
    assert_eq!((user.id, owner.user_id()), (ada.id, ada.id));
    // A P-256 key without `alg` verifies ES256 by its kind.
    let mut bare = ec_jwk("p256_a", Algorithm::ES256, "ec");
    bare.as_object_mut().unwrap().remove("alg");
    let by_kind = verifier_with(Keys::jwks_json(&jwks(&[bare])).unwrap());
    assert_eq!(by_kind.verify(&token).unwrap().subject(), "better-auth|ada");

    // Another P-256 key's signature, and a tampered payload.
    let wrong = sign(Algorithm::ES256, Some("ec"), &claims, &ec_key("p256_wrong"));
    assert_rejected(&db, &verifier, &wrong, TokenError::BadSignature);
    let [h, _, sig]: [&str; 3] = token.split('.').collect::<Vec<_>>().try_into().unwrap();
    let other = URL_SAFE_NO_PAD.encode(with(claims.clone(), "sub", json!(NEWCOMER)).to_string());
    assert_rejected(
        &db,
        &verifier,
        &format!("{h}.{other}.{sig}"),
        TokenError::BadSignature,
    );

    // Each key for its own algorithm only: ES256 under the Ed25519 key,
    // EdDSA under the P-256 key.
    let crossed = sign(Algorithm::ES256, Some("ed"), &claims, &ec);
    assert_rejected(&db, &verifier, &crossed, TokenError::UnsupportedAlgorithm);
    let crossed = ed_token("ed25519_a", Some("ec"), &claims);
    assert_rejected(&db, &verifier, &crossed, TokenError::UnsupportedAlgorithm);
    // ES384 (a P-384 key, named as the P-256 one), HS256 keyed with the
    // P-256 public key, and no signature at all.
    let es384 = sign(Algorithm::ES384, Some("ec"), &claims, &ec_key("p384"));
    assert_rejected(&db, &verifier, &es384, TokenError::UnsupportedAlgorithm);
    let confused = sign(
        Algorithm::HS256,
        Some("ec"),
        &claims,
        &EncodingKey::from_secret(fixture("p256_a.pub.pem").as_bytes()),
    );
    assert_rejected(&db, &verifier, &confused, TokenError::UnsupportedAlgorithm);
    let unsigned = raw_token(
        &json!({"alg": "none", "kid": "ec"}),
        claims.to_string().as_bytes(),
        None,
    );
    assert_rejected(&db, &verifier, &unsigned, TokenError::UnsupportedAlgorithm);
}

#[test]
fn ps256_tokens_verify_against_rsa_keys_marked_ps256_and_never_as_rs256() {
    let db = TestDb::new();
    let ps_jwk = public_jwk(&rsa_key("rsa_pss_2048"), Algorithm::PS256, "ps");
    assert_eq!(ps_jwk["alg"], "PS256");
    let keys = jwks(&[rsa_jwk("rsa_2048", "rs"), ps_jwk.clone()]);
    let verifier = verifier_with(Keys::jwks_json(&keys).unwrap());
    let (rs, ps) = (rsa_key("rsa_2048"), rsa_key("rsa_pss_2048"));
    let claims = claims(NEWCOMER);

    let token = sign(Algorithm::PS256, Some("ps"), &claims, &ps);
    assert_eq!(verifier.verify(&token).unwrap().subject(), NEWCOMER);
    let token = sign(Algorithm::RS256, Some("rs"), &claims, &rs);
    assert_eq!(verifier.verify(&token).unwrap().subject(), NEWCOMER);

    // Signed with the very key the `kid` names, but under the other RSA
    // algorithm: a PS256 token under the RS256 key, and the reverse.
    let crossed = sign(Algorithm::PS256, Some("rs"), &claims, &rs);
    assert_rejected(&db, &verifier, &crossed, TokenError::UnsupportedAlgorithm);
    let crossed = sign(Algorithm::RS256, Some("ps"), &claims, &ps);
    assert_rejected(&db, &verifier, &crossed, TokenError::UnsupportedAlgorithm);
    // A key set of PS256 keys only refuses RS256 before looking for a key.
    let ps_only = verifier_with(Keys::jwks_json(&jwks(std::slice::from_ref(&ps_jwk))).unwrap());
    let rs256 = sign(Algorithm::RS256, Some("ps"), &claims, &ps);
    assert_rejected(&db, &ps_only, &rs256, TokenError::UnsupportedAlgorithm);
    // Other PSS hashes, HS256 keyed with the public key, another RSA key's
    // PS256 signature, alg none.
    for alg in [Algorithm::PS384, Algorithm::PS512] {
        let token = sign(alg, Some("ps"), &claims, &ps);
        assert_rejected(&db, &verifier, &token, TokenError::UnsupportedAlgorithm);
    }
    let confused = sign(
        Algorithm::HS256,
        Some("ps"),
        &claims,
        &EncodingKey::from_secret(fixture("rsa_pss_2048.pub.pem").as_bytes()),
    );
    assert_rejected(&db, &verifier, &confused, TokenError::UnsupportedAlgorithm);
    let wrong = sign(Algorithm::PS256, Some("ps"), &claims, &rs);
    assert_rejected(&db, &verifier, &wrong, TokenError::BadSignature);
    let unsigned = raw_token(
        &json!({"alg": "none", "kid": "ps"}),
        claims.to_string().as_bytes(),
        None,
    );
    assert_rejected(&db, &verifier, &unsigned, TokenError::UnsupportedAlgorithm);

    // An RSA key without `alg` is an RS256 key: PS256 needs the mark.
    let mut bare = ps_jwk;
    bare.as_object_mut().unwrap().remove("alg");
    let by_kind = verifier_with(Keys::jwks_json(&jwks(&[bare])).unwrap());
    let ps256 = sign(Algorithm::PS256, Some("ps"), &claims, &ps);
    assert_rejected(&db, &by_kind, &ps256, TokenError::UnsupportedAlgorithm);
    assert!(by_kind.verify(&rs256).is_ok());
}

// --- what a verified token says ----------------------------------------------

#[test]
fn a_verified_token_tells_whether_the_email_is_verified_and_shows_every_claim() {
    let verifier = eddsa_verifier();
    let mut signed = claims(NEWCOMER);
    signed["role"] = json!("admin");
    signed["org"] = json!({"id": 7, "teams": ["core", "web"]});
    let token = ed_token("ed25519_a", Some("key-a"), &signed);

    let verified = verifier.verify(&token).unwrap();
    assert_eq!(verified.email_verified(), Some(true));
    assert_eq!(Value::Object(verified.claims().clone()), signed);
    assert_eq!(verified.claims()["org"]["teams"][1], "web");
    // The same token gives the same subject.
    assert_eq!(verifier.verify(&token).unwrap(), verified);
    // Debug: the profile claims, and the others by name only.
    let shown = format!("{verified:?}");
    assert!(shown.contains(NEWCOMER) && shown.contains("sam@example.com"));
    assert!(
        shown.contains("role") && !shown.contains("admin"),
        "{shown}"
    );
    assert!(!shown.contains("core"), "{shown}");

    // Better Auth's `emailVerified`, OIDC's `email_verified`; only booleans.
    let no_camel = || with(claims(NEWCOMER), "emailVerified", Value::Null);
    for (claims, expected) in [
        (
            with(claims(NEWCOMER), "emailVerified", json!(false)),
            Some(false),
        ),
        (with(no_camel(), "email_verified", json!(true)), Some(true)),
        (
            with(no_camel(), "email_verified", json!(false)),
            Some(false),
        ),
        (no_camel(), None),
        (with(claims(NEWCOMER), "emailVerified", json!("true")), None),
        (with(no_camel(), "email_verified", json!(1)), None),
        // Both, agreeing and not.
        (
            with(claims(NEWCOMER), "email_verified", json!(true)),
            Some(true),
        ),
        (with(claims(NEWCOMER), "email_verified", json!(false)), None),
    ] {
        let token = ed_token("ed25519_a", Some("key-a"), &claims);
        let verified = verifier.verify(&token).unwrap();
        assert_eq!(verified.email_verified(), expected, "{claims}");
    }
}

/// Verifies a token of `subject` with these `email` and `name` claims (null:
/// none).
fn verified_with(subject: &str, email: Value, name: Value) -> jwt::VerifiedSubject {
    let claims = with(with(claims(subject), "email", email), "name", name);
    let token = ed_token("ed25519_a", Some("key-a"), &claims);
    eddsa_verifier().verify(&token).unwrap()
}

#[test]
fn a_first_sight_profile_from_any_better_auth_name_is_accepted_by_the_store() {
    let db = TestDb::new();
    let mut store = db.store();
    let long = "n".repeat(150);
    // Two-, three- and four-byte characters, 150 of them.
    let wide = "é名🦀".repeat(50);
    let wide_cut: String = wide.chars().take(MAX_DISPLAY_NAME_CHARS).collect();
    for (i, (name, stored)) in [
        (json!(""), None),
        (json!("  \t \u{3000} "), None),
        (json!(long), Some(&long[..MAX_DISPLAY_NAME_CHARS])),
        (json!(wide), Some(wide_cut.as_str())),
        (
            json!("\u{0}Sam\u{7}\u{1b}[1m\nSmith\u{7f}\r\n"),
            Some("Sam[1m Smith"),
        ),
        (json!("\u{1}\u{2}"), None),
        (json!("  Ada Lovelace "), Some("Ada Lovelace")),
        (Value::Null, None),
        (json!(42), None),
    ]
    .into_iter()
    .enumerate()
    {
        let subject = format!("better-auth|first-sight-{i}");
        let email = unique_email("first-sight");
        let verified = verified_with(&subject, json!(email), name.clone());

        let profile = verified.first_sight_profile().unwrap();
        let create = OnMissingSubject::Create(profile.clone());
        let (user, owner) = store.owner_for_subject(verified.subject(), create).unwrap();
        assert_eq!(user.display_name.as_deref(), stored, "{name}");
        assert_eq!(profile.display_name.as_deref(), stored, "{name}");
        assert_eq!(user.email, email);
        assert_eq!(user.auth_subject.as_deref(), Some(subject.as_str()));
        assert_eq!(owner.user_id(), user.id);
        if let Some(stored) = stored {
            assert!(stored.chars().count() <= MAX_DISPLAY_NAME_CHARS);
        }
    }
    assert_eq!(count_rows(&mut db.conn(), "users"), 9);

    // What the fitting spares: the names as the token has them are refused.
    for raw in ["", "   ", long.as_str(), wide.as_str(), "Sam\u{7}"] {
        let verified = verified_with("better-auth|raw-name", json!("raw@example.com"), json!(raw));
        let profile = NewProfile::new("raw@example.com").display_name(verified.name().unwrap());
        let result = store.owner_for_subject(verified.subject(), OnMissingSubject::Create(profile));
        assert!(
            matches!(&result, Err(Error::Validation { field, .. }) if field == "display_name"),
            "{raw:?}: {result:?}"
        );
    }
}

#[test]
fn a_first_sight_profile_needs_an_email_the_store_accepts() {
    let db = TestDb::new();
    let mut store = db.store();
    for email in [
        Value::Null,
        json!(42),
        json!(""),
        json!("   "),
        json!("sam"),
        json!("sam@"),
        json!("@example.com"),
        json!("sam smith@example.com"),
        json!("sam@exam\nple.com"),
        json!(format!("{}@example.com", "s".repeat(MAX_EMAIL_CHARS))),
    ] {
        let verified = verified_with(NEWCOMER, email.clone(), json!("Sam"));
        assert_eq!(verified.first_sight_profile(), None, "{email}");
    }
    assert_eq!(count_rows(&mut db.conn(), "users"), 0);

    // Surrounding white space goes, as the store would drop it.
    let email = unique_email("spaced");
    let verified = verified_with(NEWCOMER, json!(format!("  {email}\n")), json!("Sam"));
    let profile = verified.first_sight_profile().unwrap();
    assert_eq!(profile, NewProfile::new(&email).display_name("Sam"));
    let (user, _) = store
        .owner_for_subject(NEWCOMER, OnMissingSubject::Create(profile))
        .unwrap();
    assert_eq!(user.email, email);
}

// --- configuration and secrets -----------------------------------------------

#[test]
fn key_sets_and_settings_are_checked_when_the_verifier_is_built() {
    let ed = ed_jwk("ed25519_a", "key-a");
    let short_x = with(ed.clone(), "x", json!(URL_SAFE_NO_PAD.encode([7u8; 31])));
    let ec = ec_jwk("p256_a", Algorithm::ES256, "ec");
    // 31 and 33 bytes: 65 bytes in all, as many as a real point has.
    let mut y = URL_SAFE_NO_PAD.decode(ec["y"].as_str().unwrap()).unwrap();
    y.insert(0, 0);
    let x = URL_SAFE_NO_PAD.decode(ec["x"].as_str().unwrap()).unwrap();
    let short_y = with(
        with(ec.clone(), "x", json!(URL_SAFE_NO_PAD.encode(&x[1..]))),
        "y",
        json!(URL_SAFE_NO_PAD.encode(&y)),
    );
    let mut bent = URL_SAFE_NO_PAD.decode(ec["y"].as_str().unwrap()).unwrap();
    bent[31] ^= 1;
    let off_curve = with(ec.clone(), "y", json!(URL_SAFE_NO_PAD.encode(bent)));
    for (document, expected) in [
        ("not json".to_owned(), ConfigError::InvalidJwks),
        (r#"{"kty":"OKP"}"#.to_owned(), ConfigError::InvalidJwks),
        (jwks(&[]), ConfigError::NoUsableKey),
        (
            jwks(&[json!({"kty": "oct", "kid": "s", "k": URL_SAFE_NO_PAD.encode(HS_SECRET)})]),
            ConfigError::NoUsableKey,
        ),
        (
            jwks(&[with(ed.clone(), "use", json!("enc"))]),
            ConfigError::NoUsableKey,
        ),
        (
            jwks(&[with(ed.clone(), "alg", json!("ES256"))]),
            ConfigError::NoUsableKey,
        ),
        (
            jwks(&[ed.clone(), ed_jwk("ed25519_b", "key-a")]),
            ConfigError::DuplicateKeyId("key-a".into()),
        ),
        (
            jwks(&[short_x]),
            ConfigError::InvalidKey {
                kid: Some("key-a".into()),
                reason: "an Ed25519 public key has 32 bytes",
            },
        ),
        (
            jwks(&[rsa_jwk("rsa_1024", "small")]),
            ConfigError::InvalidKey {
                kid: Some("small".into()),
                reason: "an RSA key needs at least 2048 bits",
            },
        ),
        (
            jwks(&[with(rsa_jwk("rsa_1024", "small"), "alg", json!("PS256"))]),
            ConfigError::InvalidKey {
                kid: Some("small".into()),
                reason: "an RSA key needs at least 2048 bits",
            },
        ),
        // Keys marked for an algorithm this verifier does not use.
        (
            jwks(&[with(rsa_jwk("rsa_2048", "rsa"), "alg", json!("PS384"))]),
            ConfigError::NoUsableKey,
        ),
        (
            jwks(&[with(ec.clone(), "alg", json!("ES384"))]),
            ConfigError::NoUsableKey,
        ),
        (
            jwks(&[with(ec.clone(), "alg", json!("EdDSA"))]),
            ConfigError::NoUsableKey,
        ),
        (
            jwks(&[ec_jwk("p384", Algorithm::ES384, "p384")]),
            ConfigError::NoUsableKey,
        ),
        // P-256 keys that are no P-256 point.
        (
            jwks(&[short_y]),
            ConfigError::InvalidKey {
                kid: Some("ec".into()),
                reason: "a P-256 coordinate has 32 bytes",
            },
        ),
        (
            jwks(&[off_curve]),
            ConfigError::InvalidKey {
                kid: Some("ec".into()),
                reason: "not a valid public key",
            },
        ),
        (
            jwks(&[with(ec.clone(), "x", json!("not base64!"))]),
            ConfigError::InvalidKey {
                kid: Some("ec".into()),
                reason: "x is not base64url",
            },
        ),
    ] {
        assert_eq!(
            Keys::jwks_json(&document).err(),
            Some(expected),
            "{document}"
        );
    }

    // Keys it cannot use are skipped; a token naming one is told so.
    let p384 = ec_jwk("p384", Algorithm::ES384, "ec");
    let x25519 = json!({"kty": "OKP", "crv": "X25519", "kid": "dh",
        "x": "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"});
    let keys = Keys::jwks_json(&jwks(&[p384, x25519, ed])).unwrap();
    let verifier = verifier_with(keys);
    let db = TestDb::new();
    let token = ed_token("ed25519_a", Some("ec"), &claims(NEWCOMER));
    assert_rejected(&db, &verifier, &token, TokenError::UnsupportedAlgorithm);
    let token = ed_token("ed25519_a", Some("key-a"), &claims(NEWCOMER));
    assert!(verifier.verify(&token).is_ok());

    // Settings.
    let keys = || Keys::hs256(Hs256Secret::new(HS_SECRET).unwrap());
    let built = |config: VerifierConfig| Verifier::new(config).err();
    assert_eq!(
        built(VerifierConfig::new("", AUDIENCE, keys())),
        Some(ConfigError::Empty(Claim::Iss))
    );
    assert_eq!(
        built(VerifierConfig::new(ISSUER, "", keys())),
        Some(ConfigError::Empty(Claim::Aud))
    );
    assert_eq!(
        built(VerifierConfig::new(ISSUER, AUDIENCE, keys()).leeway(Duration::from_secs(301))),
        Some(ConfigError::LeewayTooLong)
    );
    assert_eq!(
        Hs256Secret::new(&HS_SECRET.as_bytes()[..31]).err(),
        Some(ConfigError::WeakSecret)
    );
}

#[test]
fn secrets_never_show_in_debug_display_or_errors() {
    let secret = Hs256Secret::new(HS_SECRET).unwrap();
    let config = VerifierConfig::new(ISSUER, AUDIENCE, Keys::hs256(secret.clone()));
    let verifier = Verifier::new(config.clone()).unwrap();
    let encoded = [
        STANDARD.encode(HS_SECRET),
        URL_SAFE_NO_PAD.encode(HS_SECRET),
        format!("{:?}", HS_SECRET.as_bytes()),
    ];
    for shown in [
        format!("{secret:?}"),
        format!("{:?}", config.keys),
        format!("{config:?}"),
        format!("{config:#?}"),
        format!("{verifier:?}"),
        format!("{verifier:#?}"),
    ] {
        assert!(!shown.contains("shared secret"), "{shown}");
        for encoded in &encoded {
            assert!(!shown.contains(encoded.as_str()), "{shown}");
        }
    }
    // What is shown instead: the settings, and which keys, not what they are.
    let shown = format!("{verifier:?}");
    assert!(shown.contains(ISSUER) && shown.contains("HS256"), "{shown}");

    // A short secret is refused without being repeated.
    let weak = "tiny secret";
    let err = Hs256Secret::new(weak).unwrap_err();
    assert!(!err.to_string().contains(weak) && !format!("{err:?}").contains(weak));

    // Public key sets: ids and algorithms, no key material either.
    let jwk = ed_jwk("ed25519_a", "key-a");
    let keys = Keys::jwks_json(&jwks(std::slice::from_ref(&jwk))).unwrap();
    let shown = format!("{:?}", verifier_with(keys));
    assert!(
        shown.contains("key-a") && shown.contains("EdDSA"),
        "{shown}"
    );
    assert!(!shown.contains(jwk["x"].as_str().unwrap()), "{shown}");
}
