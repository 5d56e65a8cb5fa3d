/* portfwd_worker.c: the threads that pump the port forwarder's TCP connections. On one loop all
 * bulk streams through published ports shared one core; a worker per usable CPU, each with its own
 * event loop, its own pipe pool and its own connections, lets them use all of them. The
 * launcher's loop still accepts, dials and connects (the dial helper's channel, the socket pool
 * and the listeners stay single-threaded) and hands each connected connection to the least
 * loaded worker through the worker's inbox and an eventfd. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/log.h"
#include "netns/portfwd_internal.h"

static unsigned usable_cpus(void) {
        cpu_set_t set;

        if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
                return (unsigned)CPU_COUNT(&set);
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        return n > 0 ? (unsigned)n : 1;
}

static void worker_wake(struct portfwd_worker *w) {
        /* An eventfd counter only fails to add at 2^64-2: it is read on every wakeup. */
        (void)!write(w->wake_fd, &(uint64_t){ 1 }, sizeof(uint64_t));
}

/* Worker thread: the inbox or a request changed. */
static int on_worker_wake(event_source *source, int fd, uint32_t revents, void *userdata) {
        struct portfwd_worker *w = userdata;
        struct conn_list arrived = LIST_HEAD_INITIALIZER(arrived);
        uint64_t count;
        bool quit, empty_pool;
        (void)source;
        (void)revents;

        (void)!read(fd, &count, sizeof(count));
        pthread_mutex_lock(&w->lock);
        while (!LIST_EMPTY(&w->inbox)) {
                struct tcp_conn *c = LIST_FIRST(&w->inbox);
                LIST_REMOVE(c, pf_link);
                LIST_INSERT_HEAD(&arrived, c, pf_link);
        }
        quit = w->quit;
        empty_pool = w->empty_pool;
        w->empty_pool = false;
        pthread_mutex_unlock(&w->lock);

        if (empty_pool)
                portfwd_pipe_pool_empty(&w->pipes);
        while (!LIST_EMPTY(&arrived)) {
                struct tcp_conn *c = LIST_FIRST(&arrived);
                LIST_REMOVE(c, pf_link);
                LIST_INSERT_HEAD(&w->conns, c, pf_link);
                portfwd_conn_attach(c); /* on failure it frees c */
        }
        if (quit)
                (void)event_loop_exit(w->event, 0);
        return 0;
}

static void *worker_main(void *userdata) {
        struct portfwd_worker *w = userdata;
        int r = event_loop_run(w->event);

        if (r < 0)
                log_error_errno(r, "port forwarder: worker %u stopped: %m", w->index);
        /* Quit (or broken): what it holds goes with it, on this thread, as everything it did. */
        pthread_mutex_lock(&w->lock);
        while (!LIST_EMPTY(&w->inbox)) {
                struct tcp_conn *c = LIST_FIRST(&w->inbox);
                LIST_REMOVE(c, pf_link);
                LIST_INSERT_HEAD(&w->conns, c, pf_link);
        }
        pthread_mutex_unlock(&w->lock);
        while (!LIST_EMPTY(&w->conns))
                portfwd_conn_free(LIST_FIRST(&w->conns));
        portfwd_pipe_pool_empty(&w->pipes);
        return NULL;
}

static int worker_init(struct portfwd *pf, struct portfwd_worker *w, unsigned index, unsigned n) {
        *w = (struct portfwd_worker){ .pf = pf, .index = index, .wake_fd = -EBADF };
        w->pipes.max = PIPE_POOL_MAX / n >= 2 ? PIPE_POOL_MAX / n : 2;
        pthread_mutex_init(&w->lock, NULL);
        LIST_INIT(&w->inbox);
        LIST_INIT(&w->conns);
        atomic_init(&w->n_conns, 0);
        int r = event_loop_new(&w->event);
        if (r < 0)
                return r;
        w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (w->wake_fd < 0)
                return negative_errno();
        return event_add_io(w->event, &w->wake_source, w->wake_fd, EPOLLIN, on_worker_wake, w);
}

int portfwd_workers_start(struct portfwd *pf) {
        unsigned n = usable_cpus();
        sigset_t all, old;
        int r = 0;

        if (n > PORTFWD_WORKERS_MAX)
                n = PORTFWD_WORKERS_MAX;
        pf->workers = calloc(n, sizeof(*pf->workers));
        if (!pf->workers)
                return -ENOMEM;
        /* The launcher takes its signals through its event loop, blocked in every thread: a worker that
         * let SIGCHLD or SIGTERM through would swallow it. Threads inherit the creator's mask. */
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        for (unsigned i = 0; i < n; i++) {
                struct portfwd_worker *w = &pf->workers[i];
                pf->n_workers++; /* from here portfwd_workers_stop() cleans it up */
                r = worker_init(pf, w, i, n);
                if (r < 0)
                        break;
                r = -pthread_create(&w->thread, NULL, worker_main, w);
                if (r < 0)
                        break;
                w->running = true;
                char name[16];
                snprintf(name, sizeof(name), "portfwd-%u", i);
                (void)pthread_setname_np(w->thread, name);
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0)
                log_debug_errno(r, "port forwarder: cannot start its worker threads: %m");
        return r;
}

void portfwd_workers_stop(struct portfwd *pf) {
        for (unsigned i = 0; i < pf->n_workers; i++) {
                struct portfwd_worker *w = &pf->workers[i];
                if (!w->running)
                        continue;
                pthread_mutex_lock(&w->lock);
                w->quit = true;
                pthread_mutex_unlock(&w->lock);
                worker_wake(w);
        }
        for (unsigned i = 0; i < pf->n_workers; i++) {
                struct portfwd_worker *w = &pf->workers[i];
                if (w->running)
                        pthread_join(w->thread, NULL);
                w->running = false;
                event_source_disable_unref(w->wake_source);
                if (w->wake_fd >= 0)
                        close(w->wake_fd);
                event_loop_unref(w->event);
                pthread_mutex_destroy(&w->lock);
        }
        free(pf->workers);
        pf->workers = NULL;
        pf->n_workers = 0;
}

int portfwd_worker_hand_over(struct tcp_conn *c) {
        struct portfwd *pf = c->pf;
        struct portfwd_worker *best = NULL;

        for (unsigned i = 0; i < pf->n_workers; i++) {
                struct portfwd_worker *w = &pf->workers[i];
                if (w->running && (!best || atomic_load(&w->n_conns) < atomic_load(&best->n_conns)))
                        best = w;
        }
        if (!best)
                return -ESRCH;
        LIST_REMOVE(c, pf_link); /* from pf->conns */
        c->worker = best;
        atomic_fetch_add(&best->n_conns, 1);
        pthread_mutex_lock(&best->lock);
        LIST_INSERT_HEAD(&best->inbox, c, pf_link);
        pthread_mutex_unlock(&best->lock);
        worker_wake(best);
        return 0;
}

void portfwd_workers_empty_pools(struct portfwd *pf) {
        for (unsigned i = 0; i < pf->n_workers; i++) {
                struct portfwd_worker *w = &pf->workers[i];
                if (!w->running)
                        continue;
                pthread_mutex_lock(&w->lock);
                w->empty_pool = true;
                pthread_mutex_unlock(&w->lock);
                worker_wake(w);
        }
}
