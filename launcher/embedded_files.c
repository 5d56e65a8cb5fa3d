/* embedded_files.c: files of configs/ carried inside the binary, so an installed usernode needs
 * nothing beside it. The Makefile makes this object depend on the files in configs/. */

/* clang-format off */
__asm__(".section .rodata\n"
        ".global embedded_default_ini\n"
        ".type embedded_default_ini, @object\n"
        "embedded_default_ini:\n"
        ".incbin \"configs/usernode.ini\"\n"
        ".byte 0\n"
        ".previous\n");
/* clang-format on */
