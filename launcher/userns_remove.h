/* userns_remove.h: removing a stopped node's files, those its subordinate ids own included. */
#pragma once

/* Remove PATH and everything below it from inside a new user namespace mapping the user's id
 * and subordinate ids as the node's does (newuidmap/newgidmap): files the node's processes
 * created under those ids are then the user's to remove. Symlinks are removed, never followed;
 * other file systems mounted below PATH are left alone. Returns 0, or a negative errno after
 * logging what could not be removed. */
int userns_remove_tree(const char *path);
