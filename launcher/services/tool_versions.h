/* tool_versions.h: the versions crio and kubelet answered, remembered per binary file.
 *
 * `crio --version` and `kubelet --version` start Go programs of 50-100 MB: 0.1 s on a laptop,
 * over a second under emulation (the VM tests), on every `usernode run`, before anything else
 * can start. The answer is kept in a small file (DATA/tool-versions) keyed by the binary's
 * identity: device, inode, size, mtime and ctime, of which a replaced, rewritten or touched
 * binary changes at least one; then the binary is asked again. */
#pragma once

/* The cached MAJOR.MINOR of `path` in cache file `cache`: 1 when found for the file as it is
 * now, 0 when not (no cache, another file, unreadable), or -ENOMEM. */
int tool_versions_get(const char *cache, const char *path, unsigned *major, unsigned *minor);

/* Remembers MAJOR.MINOR for `path` as it is now, replacing its old entry (new file + rename,
 * 0600; at most TOOL_VERSIONS_MAX entries are kept). Returns 0 or a negative errno; a cache that
 * cannot be written only costs the next run its probe. */
int tool_versions_put(const char *cache, const char *path, unsigned major, unsigned minor);

#define TOOL_VERSIONS_MAX 16
