/* hostcheck.h: is this host ready to run a node? Each check names the cause and the fix. */
#pragma once

#include <stdbool.h>

/* Why unprivileged user namespaces cannot be created here, judged from the sysctls under
 * `proc_sys` ("/proc/sys", or a fake tree in tests) and the AppArmor label of this process
 * (`apparmor_label`, NULL when AppArmor is absent). Returns 0 when nothing stops them, else
 * -EPERM after logging the cause and the fix. `privileged`: running as root, which bypasses the
 * unprivileged-only switches. */
int hostcheck_user_namespaces(const char *proc_sys, const char *apparmor_label, bool privileged);

/* Runs the checks above against this host; also warns when running as root. */
int hostcheck_run(void);
