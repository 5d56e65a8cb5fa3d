/* siphash.c: see siphash.h. Written from the paper's description (section 2); its appendix A
 * example and the reference vectors are checked by tests/unit/test_siphash.c. */
#include "common/siphash.h"

static uint64_t rotate_left(uint64_t x, unsigned bits) {
        return (x << bits) | (x >> (64 - bits));
}

static uint64_t read_le64(const uint8_t *p) {
        uint64_t x = 0;
        for (unsigned i = 0; i < 8; i++)
                x |= (uint64_t)p[i] << (8 * i);
        return x;
}

struct sip_state {
        uint64_t v0, v1, v2, v3;
};

static void sip_round(struct sip_state *s) {
        s->v0 += s->v1;
        s->v1 = rotate_left(s->v1, 13);
        s->v1 ^= s->v0;
        s->v0 = rotate_left(s->v0, 32);
        s->v2 += s->v3;
        s->v3 = rotate_left(s->v3, 16);
        s->v3 ^= s->v2;
        s->v0 += s->v3;
        s->v3 = rotate_left(s->v3, 21);
        s->v3 ^= s->v0;
        s->v2 += s->v1;
        s->v1 = rotate_left(s->v1, 17);
        s->v1 ^= s->v2;
        s->v2 = rotate_left(s->v2, 32);
}

/* c = 2 rounds per message word. */
static void sip_compress(struct sip_state *s, uint64_t m) {
        s->v3 ^= m;
        sip_round(s);
        sip_round(s);
        s->v0 ^= m;
}

uint64_t siphash24(const void *data, size_t length, const uint8_t key[static SIPHASH_KEY_SIZE]) {
        const uint8_t *p = data;
        uint64_t k0 = read_le64(key), k1 = read_le64(key + 8);
        /* The initial constants spell "somepseudorandomlygeneratedbytes". */
        struct sip_state s = {
                .v0 = k0 ^ 0x736f6d6570736575ULL,
                .v1 = k1 ^ 0x646f72616e646f6dULL,
                .v2 = k0 ^ 0x6c7967656e657261ULL,
                .v3 = k1 ^ 0x7465646279746573ULL,
        };
        size_t whole = length - length % 8;

        for (size_t i = 0; i < whole; i += 8)
                sip_compress(&s, read_le64(p + i));

        /* The last word: the 0 to 7 remaining bytes, and the length mod 256 in the top byte. */
        uint64_t last = (uint64_t)(length & 0xff) << 56;
        for (size_t i = whole; i < length; i++)
                last |= (uint64_t)p[i] << (8 * (i - whole));
        sip_compress(&s, last);

        /* d = 4 finalization rounds. */
        s.v2 ^= 0xff;
        for (unsigned i = 0; i < 4; i++)
                sip_round(&s);
        return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}
