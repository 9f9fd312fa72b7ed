/* Bind, listen, accept. */
#include <string.h>

#include "net_internal.h"
#include "net_log.h"

#define LISTEN_BACKLOG 511

static void listener_on_connection(uv_stream_t *stream, int status)
{
    struct net_server *server = stream->data;
    if (status < 0) {
        net_log(NET_LOG_WARN, "accept: %s", uv_strerror(status));
        return;
    }
    conn_accept(server);
}

/* host is numeric: "127.0.0.1", "::1" or "0.0.0.0". */
static int listener_address(const char *host, int port, struct sockaddr_storage *addr)
{
    memset(addr, 0, sizeof *addr);
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)addr) == 0)
        return 0;
    return uv_ip6_addr(host, port, (struct sockaddr_in6 *)addr);
}

static int listener_bound_port(const uv_tcp_t *tcp)
{
    struct sockaddr_storage addr;
    int len = sizeof addr;
    if (uv_tcp_getsockname(tcp, (struct sockaddr *)&addr, &len) != 0)
        return -1;
    if (addr.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
    return ntohs(((struct sockaddr_in *)&addr)->sin_port);
}

static void listener_on_close(uv_handle_t *handle) { server_handle_closed(handle->data); }

int listener_start(struct net_server *server, const char *host, int port, struct sh_error *err)
{
    struct sockaddr_storage addr;
    if (listener_address(host, port, &addr) != 0)
        return sh_error_set(err, SH_E_INTERNAL, "listen: %s is not a numeric IP address", host);
    int rc = uv_tcp_init(server->loop, &server->listener);
    if (rc != 0)
        return sh_error_set(err, SH_E_INTERNAL, "listen: %s", uv_strerror(rc));
    server->listener.data = server;
    server->handles_open++;
    server->listening = true;
    rc = uv_tcp_bind(&server->listener, (const struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&server->listener, LISTEN_BACKLOG, listener_on_connection);
    if (rc != 0)
        return sh_error_set(err, SH_E_INTERNAL, "listen on %s:%d: %s", host, port, uv_strerror(rc));
    server->port = listener_bound_port(&server->listener);
    return 0;
}

void listener_close(struct net_server *server)
{
    if (!server->listening)
        return;
    server->listening = false;
    uv_close((uv_handle_t *)&server->listener, listener_on_close);
}
