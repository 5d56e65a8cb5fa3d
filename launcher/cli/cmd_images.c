/* cmd_images.c: `usernode images load|ls`: images without a registry (launcher/services/images.h).
 *
 * load reads what each FILE or DIR holds on the host, then runs skopeo in the running node's
 * namespaces through `usernode exec`; ls reads the node's storage, running or not. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "launcher/cli/cli_options.h"
#include "launcher/cli/commands.h"
#include "launcher/services/host_tools.h"
#include "launcher/services/images.h"
#include "launcher/services/node_settings_config.h"
#include "launcher/statedir.h"

struct images_target {
        const char *node;
        const char *state_dir; /* --state-dir, or NULL */
        const char *config_path; /* --config, or NULL */
};

static void print_help(void) {
        printf("usage: usernode images [--node NAME] [--state-dir DIR] [--config FILE] load [--name NAME] "
               "FILE|DIR...\n"
               "       usernode images [--node NAME] ls [--json]\n"
               "\n"
               "  load  copy images into the running node's storage with skopeo: docker-archive or\n"
               "        oci-archive tarballs, OCI layout directories. Names come from the archive\n"
               "        (RepoTags, io.containerd.image.name, or localhost/STEM:REF from the file name\n"
               "        and ref.name); --name NAME names a source's only image.\n"
               "        Files in $XDG_DATA_HOME/usernode/NAME/images/ are loaded when the node starts.\n"
               "  ls    the images in the node's storage (id, names, created)\n");
}

static int images_load(const struct images_target *target, int argc, char **argv) {
        static const struct option options[] = {
                { "name", required_argument, NULL, 'N' },
                CLI_OPTION_HELP,
                {},
        };
        struct cli_parse p = CLI_PARSE("images load", ":h", options, print_help);
        _cleanup_free_ char *state_path = NULL, *skopeo = NULL, *spec = NULL;
        const char *name = NULL;
        struct statedir sd = STATEDIR_INIT;
        struct node_settings s;
        struct host_tools t = {};
        int c, r;

        optind = 0; /* ARGV starts at the verb: a new scan */
        while ((c = cli_getopt(&p, argc, argv)) >= 0)
                name = optarg; /* --name */
        if (c == CLI_GETOPT_EXIT)
                return p.exit_status;
        if (optind >= argc) {
                log_error("images load: give the image files or OCI layout directories to load");
                return EXIT_USAGE;
        }
        if (name && argc - optind > 1) {
                log_error("images load: --name names one image; give one FILE or DIR with it");
                return EXIT_USAGE;
        }
        if (find_executable("skopeo", &skopeo) < 0) {
                log_error("images load: skopeo is not on PATH (Debian: apt install skopeo)");
                return EXIT_HOST;
        }
        if (statedir_resolve(target->node, target->state_dir, false, &state_path) < 0)
                return EXIT_RUNTIME;
        if (statedir_open_running(&sd, target->node, state_path) < 0) {
                log_error("images load: node %s is not running; start it with 'usernode run', or put the "
                          "files in its data dir's images/ to be loaded when it starts",
                          target->node);
                return EXIT_RUNTIME;
        }
        statedir_close(&sd);
        if (node_settings_load(&s, target->node, state_path, target->config_path) < 0)
                return EXIT_USAGE;
        r = host_tools_detect_storage(&s, &t);
        if (r >= 0)
                r = images_storage_spec(&s, &t, &spec);
        host_tools_done(&t);
        node_settings_done(&s);
        if (r < 0)
                return EXIT_RUNTIME;

        char *prefix[] = { "/proc/self/exe", "exec",     "--node", (char *)target->node,
                           "--state-dir",    state_path, "--",     NULL };
        for (int i = optind; i < argc; i++) {
                struct image_source src;
                if (image_source_read(argv[i], name, &src) < 0)
                        return EXIT_USAGE;
                for (size_t k = 0; r >= 0 && k < src.n_refs; k++) {
                        r = images_copy(prefix, skopeo, spec, &src.refs[k]);
                        if (r >= 0)
                                printf("%s\n", src.refs[k].name);
                }
                image_source_done(&src);
                if (r < 0)
                        return EXIT_RUNTIME;
        }
        return 0;
}

static void print_table(json_object *list) {
        printf("%-50s %-12s %s\n", "NAME", "ID", "CREATED");
        for (size_t i = 0; i < json_object_array_length(list); i++) {
                json_object *image = json_object_array_get_idx(list, i), *id, *names, *created;
                const char *id_s =
                        json_object_object_get_ex(image, "id", &id) ? json_object_get_string(id) : "";
                const char *created_s = json_object_object_get_ex(image, "created", &created)
                                                ? json_object_get_string(created)
                                                : "";
                size_t n = json_object_object_get_ex(image, "names", &names)
                                   ? json_object_array_length(names)
                                   : 0;
                for (size_t k = 0; k < (n ? n : 1); k++)
                        printf("%-50s %-12.12s %.19s\n",
                               n ? json_object_get_string(json_object_array_get_idx(names, k)) : "<none>",
                               id_s, created_s);
        }
}

static int images_ls(const struct images_target *target, int argc, char **argv) {
        static const struct option options[] = { CLI_OPTION_HELP, CLI_OPTION_JSON, {} };
        struct cli_parse p = CLI_PARSE("images ls", ":h", options, print_help);
        _cleanup_free_ char *data = NULL, *root = NULL;
        json_object *list = NULL;

        optind = 0; /* ARGV starts at the verb: a new scan */
        if (cli_getopt(&p, argc, argv) == CLI_GETOPT_EXIT)
                return p.exit_status;
        if (optind < argc) {
                log_error("images ls: unexpected argument \"%s\" (only --json)", argv[optind]);
                return EXIT_USAGE;
        }
        bool json = p.json;
        if (node_data_dir(target->node, &data) < 0 || asprintf(&root, "%s/containers/storage", data) < 0)
                return log_error_errno(ENOMEM, "%m"), EXIT_RUNTIME;
        int r = images_list(root, &list);
        if (r < 0) {
                log_error_errno(r, "images ls: cannot read %s/overlay-images/images.json: %m", root);
                return EXIT_RUNTIME;
        }
        if (json)
                printf("%s\n", json_object_to_json_string_ext(list, JSON_C_TO_STRING_PLAIN |
                                                                            JSON_C_TO_STRING_NOSLASHESCAPE));
        else
                print_table(list);
        json_object_put(list);
        return 0;
}

const struct option cli_options_images[] = {
        CLI_OPTION_HELP, CLI_OPTION_NODE, CLI_OPTION_STATE_DIR, CLI_OPTION_CONFIG, {},
};

int cmd_images(int argc, char **argv) {
        /* '+': the options of `load` and `ls` follow their verb. */
        struct cli_parse p = CLI_PARSE("images", "+:h", cli_options_images, print_help);

        if (cli_getopt(&p, argc, argv) == CLI_GETOPT_EXIT)
                return p.exit_status;
        struct images_target target = { .node = p.node,
                                        .state_dir = p.state_dir,
                                        .config_path = p.config_path };
        if (optind >= argc) {
                log_error("images: no command given (load, ls); see 'usernode images --help'");
                return EXIT_USAGE;
        }
        const char *verb = argv[optind];
        if (strcmp(verb, "load") == 0)
                return images_load(&target, argc - optind, argv + optind);
        if (strcmp(verb, "ls") == 0)
                return images_ls(&target, argc - optind, argv + optind);
        log_error("images: unknown command \"%s\" (load, ls)", verb);
        return EXIT_USAGE;
}
