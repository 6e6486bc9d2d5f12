// `make bench` comparison server (tests/bench/oidc.sh): Node's oidc-provider
// v9, in-memory adapter (its default), one client with client_secret_basic
// and the client_credentials grant, access tokens as ES256 JWTs (RFC 9068,
// through the resource indicators feature), HTTP/1.1 cleartext on loopback.
// Usage: node bench_oidc_provider.mjs PORT CLIENT_ID SECRET
// Prints "ready" when it listens; stops on SIGTERM.
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

const [port, clientId, secret] = process.argv.slice(2);
const RESOURCE = 'https://api.bench.example';

const { privateKey } = await generateKeyPair('ES256', { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), alg: 'ES256', use: 'sig', kid: 'bench-es256' };

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: clientId,
    client_secret: secret,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256', // the only key; the default is RS256
    scope: 'admin',
  }],
  jwks: { keys: [jwk] },
  scopes: ['admin'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'admin',
        audience: RESOURCE,
        accessTokenTTL: 600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
});
provider.proxy = false;

const server = provider.listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
