/*
 * A sanhe-engine child process, for tools and tests that need a real
 * server: start it on a config, learn its port from the config's port_file,
 * stop it with SIGTERM (or kill it with SIGKILL, for crash tests).
 */
#ifndef ENGINE_PROC_H
#define ENGINE_PROC_H

#include <sys/types.h>

struct engine_proc {
    pid_t pid; /* -1 when not running */
    int port;
};

/* Runs argv (argv[0] a path) to completion with stdout and stderr appended
 * to files (NULL: /dev/null); returns its exit status, or -1. */
int proc_run(const char *const argv[], const char *out_path, const char *err_path);

/* Starts `ENGINE serve -c CONF` and waits (at most timeout_ms) until it has
 * written its port into port_path. Returns 0, or -1 when it exited or did
 * not listen in time (its stderr is then in err_path). */
int engine_proc_start(struct engine_proc *p, const char *engine, const char *conf,
                      const char *port_path, const char *out_path, const char *err_path,
                      int timeout_ms);

/* SIGTERM, then waits at most timeout_ms for the exit (SIGKILL after that).
 * Returns the exit status, or -1 when it had to be killed or died of a signal. */
int engine_proc_stop(struct engine_proc *p, int timeout_ms);

/* SIGKILL now (kill -9): no chance to finish anything. Returns 0 when reaped. */
int engine_proc_kill(struct engine_proc *p);

#endif
