/* node_status.c: service states from the node init, the service manager's notifications, and their JSON for `status`. */
#include "launcher/api/node_status.h"

#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "common/log.h"
#include "common/notify.h"
#include "launcher/node/node_protocol.h"

static int update_service(struct node_status *ns, const struct service_status *st) {
        for (size_t i = 0; i < ns->n_services; i++)
                if (strcmp(ns->services[i].name, st->name) == 0) {
                        ns->services[i] = *st;
                        return 1;
                }
        struct service_status *n = reallocarray(ns->services, ns->n_services + 1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        ns->services = n;
        ns->services[ns->n_services++] = *st;
        return 1;
}

int node_status_on_message(struct node_status *ns, const struct channel_message *m) {
        switch (m->type) {
        case NODE_MSG_SERVICE_STATE: {
                struct service_status st;
                if (m->length != sizeof(st))
                        return -EBADMSG;
                memcpy(&st, m->payload, sizeof(st));
                st.name[sizeof(st.name) - 1] = '\0';
                return update_service(ns, &st);
        }
        case NODE_MSG_STATUS_TEXT:
                snprintf(ns->last_status, sizeof(ns->last_status), "%.*s", (int)m->length, m->payload);
                (void)notify_sendf("STATUS=%s", ns->last_status);
                return 1;
        case NODE_MSG_SERVICES_READY:
                if (!ns->ready) {
                        ns->ready = true;
                        (void)notify_send("READY=1\nSTATUS=Node ready");
                }
                return 1;
        default:
                return 0;
        }
}

static json_object *exit_status_json(int status) {
        if (status < 0)
                return NULL; /* JSON null: never exited */
        json_object *o = json_object_new_object();
        if (!o)
                return NULL;
        if (WIFEXITED(status))
                json_object_object_add(o, "code", json_object_new_int(WEXITSTATUS(status)));
        else if (WIFSIGNALED(status))
                json_object_object_add(o, "signal", json_object_new_int(WTERMSIG(status)));
        return o;
}

json_object *node_status_to_json(const struct node_status *ns) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        long long now_usec = (long long)now.tv_sec * 1000000LL + now.tv_nsec / 1000;

        json_object *root = json_object_new_object();
        json_object *services = json_object_new_array();
        if (!root || !services) {
                json_object_put(root);
                json_object_put(services);
                return NULL;
        }
        json_object_object_add(root, "ready", json_object_new_boolean(ns->ready));
        json_object_object_add(root, "status", json_object_new_string(ns->last_status));
        for (size_t i = 0; i < ns->n_services; i++) {
                const struct service_status *st = &ns->services[i];
                json_object *o = json_object_new_object();
                if (!o)
                        break;
                json_object_object_add(o, "name", json_object_new_string(st->name));
                json_object_object_add(o, "state",
                                       json_object_new_string(service_state_to_string(st->state)));
                json_object_object_add(o, "pid", st->pid > 0 ? json_object_new_int(st->pid) : NULL);
                json_object_object_add(o, "restarts", json_object_new_int((int)st->restarts));
                json_object_object_add(o, "last_exit_status", exit_status_json(st->last_exit_status));
                json_object_object_add(
                        o, "uptime_seconds",
                        st->since_realtime > 0
                                ? json_object_new_int64((now_usec - st->since_realtime) / 1000000LL)
                                : NULL);
                json_object_array_add(services, o);
        }
        json_object_object_add(root, "services", services);
        return root;
}

void node_status_done(struct node_status *ns) {
        free(ns->services);
        *ns = (struct node_status){};
}
