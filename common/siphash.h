/* siphash.h: SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012), a
 * keyed hash for tables whose keys an attacker chooses: without the key, nobody can pick inputs
 * that land in one bucket. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_SIZE 16

/* The 64-bit SipHash-2-4 of LENGTH bytes at DATA under the 128-bit KEY, as the specification
 * reads key and message: little-endian 64-bit words. */
uint64_t siphash24(const void *data, size_t length, const uint8_t key[static SIPHASH_KEY_SIZE]);
