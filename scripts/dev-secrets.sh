#!/usr/bin/env bash
# dev-secrets.sh: the secrets of a development, test or compose suite, made
# locally with openssl. Never for production: there, the keys come from the
# organisation's identity provider and CA, into Kubernetes Secrets
# (docs/DEPLOY.md, "Security").
#
#   scripts/dev-secrets.sh [--tls-only] [--readable] DIR [NAME...]
#
# --readable makes every file world-readable, for containers whose user is
# not the file's owner (compose, the container test): a dev convenience
# that a deployment never needs (Kubernetes mounts Secrets for the pod's
# group). DEV_SECRETS_EXTRA_SAN, a printf pattern of the name ("ctk-%s-0"),
# adds a name to every certificate (the container test's pods).
#
# Makes in DIR what is missing (existing files are kept, so tokens and
# certificates stay valid across runs):
#   auth/dev.pem        the token signing key (key id "dev": compactctl token issue)
#   auth/service.pem    the services' own key (key id "service": tokens to peers)
#   auth/keys.json      the public halves, a JSON Web Key Set (COMPACT_AUTH_KEYS_FILE)
#   redis/password      the Redis ACL user's password (COMPACT_REDIS_PASSWORD_FILE)
#   redis/users.acl     the ACL file for redis-server (aclfile): user "compact" only
#   tls/ca.pem, ca.key  a CA for this suite alone
#   tls/NAME.pem, .key  a certificate per NAME (default: every service and
#                       "client"), for server and client use, valid for NAME,
#                       NAME-headless and their Kubernetes names, localhost and
#                       127.0.0.1
# --tls-only makes tls/ alone, directly in DIR (the test harness).
set -euo pipefail
umask 077

tls_only=0 readable=0
while [ $# -gt 0 ]; do
    case $1 in
        --tls-only) tls_only=1; shift ;;
        --readable) readable=1; shift ;;
        *) break ;;
    esac
done
dir=${1:?usage: dev-secrets.sh [--tls-only] DIR [NAME...]}
shift
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(membership workgroups projects committee analytics client)
command -v openssl >/dev/null || { echo "dev-secrets.sh: openssl is needed" >&2; exit 1; }

ec_key() { # FILE: a P-256 private key in PKCS#8 PEM
    [ -s "$1" ] || openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

b64url() { basenc --base64url -w0 | tr -d '='; }

jwk() { # KID FILE: the public JWK of a private key
    local raw x y
    raw=$(openssl pkey -in "$2" -pubout -outform DER 2>/dev/null | tail -c 64 | od -An -v -tx1 | tr -d ' \n')
    x=$(printf '%s' "${raw:0:64}" | tr a-f A-F | basenc --base16 -d | b64url)
    y=$(printf '%s' "${raw:64:64}" | tr a-f A-F | basenc --base16 -d | b64url)
    printf '{"kty":"EC","crv":"P-256","kid":"%s","use":"sig","alg":"ES256","x":"%s","y":"%s"}' \
        "$1" "$x" "$y"
}

make_auth() {
    mkdir -p "$dir/auth"
    ec_key "$dir/auth/dev.pem"
    ec_key "$dir/auth/service.pem"
    if [ ! -s "$dir/auth/keys.json" ]; then
        printf '{"keys": [\n  %s,\n  %s\n]}\n' "$(jwk dev "$dir/auth/dev.pem")" \
            "$(jwk service "$dir/auth/service.pem")" > "$dir/auth/keys.json.tmp"
        mv "$dir/auth/keys.json.tmp" "$dir/auth/keys.json"
    fi
    # Public keys: readable by the services' user in a container.
    chmod 644 "$dir/auth/keys.json"
}

make_redis() {
    mkdir -p "$dir/redis"
    [ -s "$dir/redis/password" ] || openssl rand -hex 24 > "$dir/redis/password"
    if [ ! -s "$dir/redis/users.acl" ]; then
        printf 'user default off\nuser compact on >%s ~* &* +@all\n' \
            "$(cat "$dir/redis/password")" > "$dir/redis/users.acl"
    fi
}

make_tls() {
    local t=$1
    mkdir -p "$t"
    if [ ! -s "$t/ca.pem" ]; then
        ec_key "$t/ca.key"
        openssl req -x509 -new -key "$t/ca.key" -sha256 -days 825 -subj "/O=Compact dev/CN=Compact dev CA" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
            -out "$t/ca.pem" 2>/dev/null
    fi
    for n in "${names[@]}"; do
        [ -s "$t/$n.pem" ] && continue
        ec_key "$t/$n.key"
        local san="DNS:$n,DNS:$n-headless,DNS:$n.compact.svc,DNS:$n-headless.compact.svc"
        san="$san,DNS:*.$n-headless.compact.svc.cluster.local,DNS:$n.compact.svc.cluster.local"
        san="$san,DNS:localhost,IP:127.0.0.1"
        if [ -n "${DEV_SECRETS_EXTRA_SAN:-}" ]; then
            # shellcheck disable=SC2059
            san="$san,DNS:$(printf "$DEV_SECRETS_EXTRA_SAN" "$n")"
        fi
        openssl req -new -key "$t/$n.key" -subj "/O=Compact dev/CN=$n" -out "$t/$n.csr" 2>/dev/null
        printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=CA:FALSE\n' \
            "$san" > "$t/$n.ext"
        openssl x509 -req -in "$t/$n.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" -CAcreateserial \
            -days 825 -sha256 -extfile "$t/$n.ext" -out "$t/$n.pem" 2>/dev/null
        rm -f "$t/$n.csr" "$t/$n.ext"
    done
    chmod 644 "$t"/*.pem
}

if [ "$tls_only" = 1 ]; then
    make_tls "$dir"
else
    make_auth
    make_redis
    make_tls "$dir/tls"
fi
if [ "$readable" = 1 ]; then
    find "$dir" -type d -exec chmod 755 {} +
    find "$dir" -type f -exec chmod 644 {} +
fi
