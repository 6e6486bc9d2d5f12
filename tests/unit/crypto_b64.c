/* base64/base64url, random, SHA-256, HMAC and constant-time compare
 * (gateway/b64.c, gateway/rand_hash.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gateway/crypto.h"

/* RFC 4648 §10 test vectors. */
static const struct {
    const char *plain, *std, *url;
} RFC4648[] = {
    {"", "", ""},
    {"f", "Zg==", "Zg"},
    {"fo", "Zm8=", "Zm8"},
    {"foo", "Zm9v", "Zm9v"},
    {"foob", "Zm9vYg==", "Zm9vYg"},
    {"fooba", "Zm9vYmE=", "Zm9vYmE"},
    {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
};

static void test_rfc4648_encode(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(RFC4648) / sizeof(RFC4648[0]); i++) {
        char out[16];
        size_t n = strlen(RFC4648[i].plain);
        assert_int_equal(gw_b64_encode((const uint8_t *)RFC4648[i].plain, n, out), GW_B64_LEN(n));
        assert_string_equal(out, RFC4648[i].std);
        assert_int_equal(gw_b64url_encode((const uint8_t *)RFC4648[i].plain, n, out), GW_B64URL_LEN(n));
        assert_string_equal(out, RFC4648[i].url);
    }
}

static void test_rfc4648_decode(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(RFC4648) / sizeof(RFC4648[0]); i++) {
        uint8_t out[16];
        size_t len = 99;
        const char *std = RFC4648[i].std, *url = RFC4648[i].url, *plain = RFC4648[i].plain;
        assert_int_equal(gw_b64_decode(std, strlen(std), out, &len), 0);
        assert_int_equal(len, strlen(plain));
        assert_memory_equal(out, plain, len);
        len = 99;
        assert_int_equal(gw_b64url_decode(url, strlen(url), out, &len), 0);
        assert_int_equal(len, strlen(plain));
        assert_memory_equal(out, plain, len);
    }
}

/* The two alphabets differ only in the last two characters (RFC 4648 §5). */
static void test_alphabets(void **state)
{
    (void)state;
    static const uint8_t bytes[] = {0xfb, 0xff, 0xbf};
    char out[8];
    gw_b64_encode(bytes, 3, out);
    assert_string_equal(out, "+/+/");
    gw_b64url_encode(bytes, 3, out);
    assert_string_equal(out, "-_-_");
    uint8_t dec[8];
    size_t len;
    assert_int_equal(gw_b64url_decode("-_-_", 4, dec, &len), 0);
    assert_memory_equal(dec, bytes, 3);
    assert_int_equal(gw_b64url_decode("+/+/", 4, dec, &len), -1);
    assert_int_equal(gw_b64_decode("-_-_", 4, dec, &len), -1);
}

/* Broken twins of the vectors above: each must be refused. */
static void test_url_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "Zg==",    /* padding */
        "Zm8=",    /* padding */
        "Zg=",     /* padding */
        "Z",       /* 4k+1 characters cannot encode anything */
        "Zm9vY",   /* same */
        "Zh",      /* non-zero trailing bits: "Zg" is the only encoding of "f" */
        "Zm9",     /* trailing bits */
        "Zm9v!",   /* outside the alphabet */
        "Zm 9v",   /* whitespace */
        "Zm9v\n",  /* newline */
        "Zm9v+",   /* standard alphabet */
        "Zm9v/w",  /* standard alphabet */
        "Zm\x80v", /* high byte */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t out[16];
        size_t len = 0;
        assert_int_equal(gw_b64url_decode(bad[i], strlen(bad[i]), out, &len), -1);
    }
    /* An embedded NUL counts as a byte, not an end. */
    uint8_t out[8];
    size_t len;
    assert_int_equal(gw_b64url_decode("Zm\0v", 4, out, &len), -1);
}

static void test_std_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "Zg",       /* missing padding */
        "Zg=",      /* short padding */
        "Zg===",    /* too much padding */
        "Z===",     /* three pad characters */
        "====",     /* only padding */
        "Zm9=v===", /* padding in the middle */
        "Zh==",     /* non-zero trailing bits */
        "Zm9=",     /* trailing bits */
        "Zm9v\n",   /* newline */
        "Zm9 v===", /* whitespace */
        "Zm9-",     /* url alphabet */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t out[16];
        size_t len = 0;
        assert_int_equal(gw_b64_decode(bad[i], strlen(bad[i]), out, &len), -1);
    }
}

static void test_roundtrip_random(void **state)
{
    (void)state;
    uint8_t in[200], out[GW_B64_DECODED_MAX(GW_B64_LEN(200))];
    char enc[GW_B64_LEN(200) + 1];
    for (size_t n = 0; n <= sizeof(in); n++) {
        gw_random_bytes(in, n);
        size_t len = 0;
        size_t e = gw_b64url_encode(in, n, enc);
        assert_int_equal(e, strlen(enc));
        assert_int_equal(gw_b64url_decode(enc, e, out, &len), 0);
        assert_int_equal(len, n);
        assert_memory_equal(in, out, n);
        e = gw_b64_encode(in, n, enc);
        assert_int_equal(e, strlen(enc));
        assert_int_equal(gw_b64_decode(enc, e, out, &len), 0);
        assert_int_equal(len, n);
        assert_memory_equal(in, out, n);
    }
}

static void hex(const uint8_t *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

/* FIPS 180-2 appendix B.1 and the empty string. */
static void test_sha256(void **state)
{
    (void)state;
    uint8_t d[32];
    char h[65];
    gw_sha256("abc", 3, d);
    hex(d, 32, h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    gw_sha256("", 0, d);
    hex(d, 32, h);
    assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    gw_sha256("abd", 3, d);
    hex(d, 32, h);
    assert_string_not_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* RFC 4231 §4.2 (test case 1) and §4.3 (test case 2). */
static void test_hmac_sha256(void **state)
{
    (void)state;
    uint8_t key[20], d[32];
    char h[65];
    memset(key, 0x0b, sizeof(key));
    gw_hmac_sha256(key, sizeof(key), "Hi There", 8, d);
    hex(d, 32, h);
    assert_string_equal(h, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    gw_hmac_sha256((const uint8_t *)"Jefe", 4, "what do ya want for nothing?", 28, d);
    hex(d, 32, h);
    assert_string_equal(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* Broken twin: one key bit changes everything. */
    key[0] ^= 1;
    gw_hmac_sha256(key, sizeof(key), "Hi There", 8, d);
    hex(d, 32, h);
    assert_string_not_equal(h, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

static void test_ct_equal_and_random(void **state)
{
    (void)state;
    assert_true(gw_ct_equal("abcd", "abcd", 4));
    assert_false(gw_ct_equal("abcd", "abce", 4));
    assert_false(gw_ct_equal("abcd", "Abcd", 4));
    assert_true(gw_ct_equal("x", "y", 0));
    uint8_t a[32] = {0}, b[32] = {0}, zero[32] = {0};
    gw_random_bytes(a, sizeof(a));
    gw_random_bytes(b, sizeof(b));
    assert_false(gw_ct_equal(a, b, sizeof(a)));
    assert_false(gw_ct_equal(a, zero, sizeof(a)));
}

/* Small draws of gw_random_bytes come from a per-thread buffer: 600
 * 16-byte values cross two refills; all must differ, and none may be all
 * zero (a buffer handed out without being filled). */
static void test_random_small_draws(void **state)
{
    (void)state;
    static uint8_t ids[600][16];
    static const uint8_t zero[16];
    for (size_t i = 0; i < 600; i++) {
        gw_random_bytes(ids[i], 16);
        assert_true(memcmp(ids[i], zero, 16) != 0);
        for (size_t j = 0; j < i; j++)
            assert_true(memcmp(ids[i], ids[j], 16) != 0);
    }
}

/* After fork() the child must not hand out the bytes its parent's buffer
 * still holds: each draws its next 32 bytes, and they differ. */
static void test_random_fork(void **state)
{
    (void)state;
    uint8_t first[32], mine[32], childs[32];
    gw_random_bytes(first, sizeof(first)); /* the buffer is filled now */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        gw_random_bytes(childs, sizeof(childs));
        _exit(write(fds[1], childs, sizeof(childs)) == (ssize_t)sizeof(childs) ? 0 : 1);
    }
    close(fds[1]);
    gw_random_bytes(mine, sizeof(mine));
    assert_int_equal(read(fds[0], childs, sizeof(childs)), (ssize_t)sizeof(childs));
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(memcmp(mine, childs, sizeof(mine)) != 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_encode),
        cmocka_unit_test(test_rfc4648_decode),
        cmocka_unit_test(test_alphabets),
        cmocka_unit_test(test_url_rejects),
        cmocka_unit_test(test_std_rejects),
        cmocka_unit_test(test_roundtrip_random),
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_hmac_sha256),
        cmocka_unit_test(test_ct_equal_and_random),
        cmocka_unit_test(test_random_small_draws),
        cmocka_unit_test(test_random_fork),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
