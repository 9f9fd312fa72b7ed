#include "engine_proc.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void redirect(int fd, const char *path)
{
    int to = open(path != NULL ? path : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (to >= 0) {
        dup2(to, fd);
        close(to);
    }
}

static pid_t spawn(const char *const argv[], const char *out_path, const char *err_path)
{
    pid_t pid = fork();
    if (pid == 0) {
        redirect(STDOUT_FILENO, out_path);
        redirect(STDERR_FILENO, err_path);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

int proc_run(const char *const argv[], const char *out_path, const char *err_path)
{
    pid_t pid = spawn(argv, out_path, err_path);
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

static int read_port(const char *path)
{
    int port = -1;
    FILE *in = fopen(path, "r");
    if (in != NULL) {
        if (fscanf(in, "%d", &port) != 1)
            port = -1;
        fclose(in);
    }
    return port;
}

int engine_proc_start(struct engine_proc *p, const char *engine, const char *conf,
                      const char *port_path, const char *out_path, const char *err_path,
                      int timeout_ms)
{
    unlink(port_path); /* a port file left by an earlier run says nothing */
    const char *const argv[] = {engine, "serve", "-c", conf, NULL};
    p->port = -1;
    p->pid = spawn(argv, out_path, err_path);
    if (p->pid < 0)
        return -1;
    for (int waited = 0; waited < timeout_ms; waited += 10) {
        p->port = read_port(port_path);
        if (p->port > 0)
            return 0;
        if (waitpid(p->pid, NULL, WNOHANG) == p->pid) {
            p->pid = -1;
            return -1;
        }
        sleep_ms(10);
    }
    engine_proc_kill(p);
    return -1;
}

int engine_proc_stop(struct engine_proc *p, int timeout_ms)
{
    if (p->pid <= 0)
        return -1;
    kill(p->pid, SIGTERM);
    int status;
    for (int waited = 0; waited < timeout_ms; waited += 10) {
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
            p->pid = -1;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        sleep_ms(10);
    }
    engine_proc_kill(p);
    return -1;
}

int engine_proc_kill(struct engine_proc *p)
{
    if (p->pid <= 0)
        return -1;
    kill(p->pid, SIGKILL);
    int rc = waitpid(p->pid, NULL, 0) == p->pid ? 0 : -1;
    p->pid = -1;
    return rc;
}
