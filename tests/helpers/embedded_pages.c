/* embedded_pages.c: how much of each program embedded in usernode (launcher/config/embedded_programs.h)
 * a running usernode process holds in its page table.
 *
 *   embedded_pages PID
 *
 * Prints one line per program, "NAME PRESENT_KIB SIZE_KIB" (engine_program, cluster_program,
 * oci_wrapper_blob). The blobs' addresses are the labels NAME_start/NAME_end of the symbol table
 * of the process's own binary (/proc/PID/exe, unstripped as the build leaves it), moved by its
 * load address (a PIE: the start of its mapping at file offset 0); a page counts when
 * /proc/PID/pagemap has its present bit (63, readable by the process's owner, who gets no page
 * frame numbers). Exit status 0, or 1 with a line on stderr when something cannot be read. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static const char *const programs[] = { "engine_program", "cluster_program", "oci_wrapper_blob" };
#define N_PROGRAMS (sizeof(programs) / sizeof(programs[0]))

struct blob {
        uint64_t start, end; /* link-time addresses; 0 when not found */
};

static int fail(const char *what) {
        fprintf(stderr, "embedded_pages: %s: %s\n", what, strerror(errno));
        return 1;
}

/* Whether [off, off + len) lies within a file of SIZE bytes. */
static int within(uint64_t off, uint64_t len, uint64_t size) {
        return off <= size && len <= size - off;
}

/* Looks NAME_start and NAME_end of every program up in the ELF file MAP (SIZE bytes). */
static int find_blobs(const unsigned char *map, uint64_t size, struct blob *blobs) {
        const Elf64_Ehdr *eh = (const Elf64_Ehdr *)map;

        if (size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
            eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_shentsize != sizeof(Elf64_Shdr) ||
            !within(eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr), size)) {
                fprintf(stderr, "embedded_pages: not a 64-bit ELF file with section headers\n");
                return -1;
        }
        const Elf64_Shdr *sh = (const Elf64_Shdr *)(map + eh->e_shoff);
        for (unsigned i = 0; i < eh->e_shnum; i++) {
                if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_entsize != sizeof(Elf64_Sym) ||
                    sh[i].sh_link >= eh->e_shnum)
                        continue;
                const Elf64_Shdr *str = &sh[sh[i].sh_link];
                if (!within(sh[i].sh_offset, sh[i].sh_size, size) ||
                    !within(str->sh_offset, str->sh_size, size))
                        continue;
                const Elf64_Sym *sym = (const Elf64_Sym *)(map + sh[i].sh_offset);
                const char *names = (const char *)(map + str->sh_offset);
                for (uint64_t k = 0; k < sh[i].sh_size / sizeof(Elf64_Sym); k++) {
                        if (sym[k].st_name >= str->sh_size)
                                continue;
                        const char *name = names + sym[k].st_name;
                        size_t room = str->sh_size - sym[k].st_name;
                        for (size_t p = 0; p < N_PROGRAMS; p++) {
                                size_t len = strlen(programs[p]);
                                if (strnlen(name, room) == room || strncmp(name, programs[p], len) != 0)
                                        continue;
                                if (strcmp(name + len, "_start") == 0)
                                        blobs[p].start = sym[k].st_value;
                                else if (strcmp(name + len, "_end") == 0)
                                        blobs[p].end = sym[k].st_value;
                        }
                }
        }
        for (size_t p = 0; p < N_PROGRAMS; p++)
                if (!blobs[p].start || blobs[p].end <= blobs[p].start) {
                        fprintf(stderr, "embedded_pages: no symbols %s_start/_end (a stripped binary?)\n",
                                programs[p]);
                        return -1;
                }
        return 0;
}

/* The load address of the binary with device DEV and inode INO in the process's maps. */
static int load_address(const char *pid, dev_t dev, ino_t ino, uint64_t *ret) {
        char path[64], line[4096];
        snprintf(path, sizeof(path), "/proc/%s/maps", pid);
        FILE *f = fopen(path, "re");
        if (!f) {
                fail(path);
                return -1;
        }
        int found = 0;
        while (!found && fgets(line, sizeof(line), f)) {
                uint64_t lo, hi, off, inode;
                unsigned maj, min;
                if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %*s %" SCNx64 " %x:%x %" SCNu64, &lo, &hi, &off,
                           &maj, &min, &inode) == 6 &&
                    off == 0 && inode == (uint64_t)ino && maj == major(dev) && min == minor(dev)) {
                        *ret = lo;
                        found = 1;
                }
        }
        fclose(f);
        if (!found)
                fprintf(stderr, "embedded_pages: the binary is not mapped at offset 0 in %s\n", path);
        return found ? 0 : -1;
}

int main(int argc, char **argv) {
        struct blob blobs[N_PROGRAMS] = {};
        char path[64];
        struct stat st;
        uint64_t base;

        if (argc != 2 || strspn(argv[1], "0123456789") != strlen(argv[1]) || strlen(argv[1]) > 10) {
                fprintf(stderr, "usage: embedded_pages PID\n");
                return 2;
        }
        snprintf(path, sizeof(path), "/proc/%s/exe", argv[1]);
        int exe = open(path, O_RDONLY | O_CLOEXEC);
        if (exe < 0 || fstat(exe, &st) < 0)
                return fail(path);
        unsigned char *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, exe, 0);
        if (map == MAP_FAILED)
                return fail(path);
        if (find_blobs(map, (uint64_t)st.st_size, blobs) < 0 ||
            load_address(argv[1], st.st_dev, st.st_ino, &base) < 0)
                return 1;
        snprintf(path, sizeof(path), "/proc/%s/pagemap", argv[1]);
        int pagemap = open(path, O_RDONLY | O_CLOEXEC);
        if (pagemap < 0)
                return fail(path);
        uint64_t page_size = (uint64_t)sysconf(_SC_PAGESIZE);
        for (size_t p = 0; p < N_PROGRAMS; p++) {
                uint64_t present = 0, first = (base + blobs[p].start) / page_size,
                         last = (base + blobs[p].end - 1) / page_size;
                for (uint64_t page = first; page <= last; page++) {
                        uint64_t entry;
                        if (pread(pagemap, &entry, sizeof(entry), (off_t)(page * sizeof(entry))) !=
                            sizeof(entry))
                                return fail(path);
                        present += entry >> 63;
                }
                printf("%s %" PRIu64 " %" PRIu64 "\n", programs[p], present * page_size / 1024,
                       (blobs[p].end - blobs[p].start + 1023) / 1024);
        }
        return 0;
}
