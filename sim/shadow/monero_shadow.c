/* monero_shadow.c: what stock monerod and monero-wallet-rpc need to keep their connections
 * under Shadow 3.x. The generated config preloads it into both (docs/shadow.md, section 3).
 *
 * 1. epee (Monero 0.18, abstract_tcp_server2.inl, connection<T>::start_internal) sets IP_TOS and
 *    TCP_NODELAY=0 on every accepted or connected socket and drops the connection when either
 *    fails. Shadow models neither TOS marking nor Nagle's algorithm and answers ENOPROTOOPT:
 *    here both calls succeed without effect.
 * 2. Shadow's TCP never sends a RST. monerod closes an RPC connection idle for 300 s; on Linux
 *    the wallet's next send draws a RST, a later send fails with EPIPE and the wallet
 *    reconnects. Under Shadow every send "succeeds" into the closed connection and the wallet
 *    answers "no connection to daemon" for good. Here a send on a TCP socket whose peer has
 *    sent its FIN (state CLOSE_WAIT) fails with EPIPE at once, as Linux's does one round trip
 *    later. Monero never half-closes a connection, so nothing Linux would deliver is refused.
 *
 * Every other call goes to Shadow unchanged. MONERO_SHADOW_LOG=1 prints each EPIPE on stderr.
 * It works only with `experimental.use_preload_libc: false`: Shadow's own libc preload comes
 * first in LD_PRELOAD and defines setsockopt and send itself.
 * Build: cc -O2 -shared -fPIC -o monero_shadow.so monero_shadow.c   (make does it)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

int setsockopt(int fd, int level, int name, const void *value, socklen_t length) {
    if (level == IPPROTO_IP && name == IP_TOS)
        return 0;
    if (level == IPPROTO_TCP && name == TCP_NODELAY && value && length >= sizeof(int)
        && *(const int *)value == 0)
        return 0;
    return (int)syscall(SYS_setsockopt, fd, level, name, value, length);
}

/* True (errno EPIPE) when fd is a TCP socket whose peer has closed its side. */
static int peer_closed(int fd) {
    struct tcp_info info;
    socklen_t length = sizeof info;
    int saved = errno;
    int closed = syscall(SYS_getsockopt, fd, IPPROTO_TCP, TCP_INFO, &info, &length) == 0
                 && length >= 1 && info.tcpi_state == TCP_CLOSE_WAIT;
    errno = saved;
    if (closed) {
        static int log = -1;
        if (log < 0)
            log = getenv("MONERO_SHADOW_LOG") != NULL;
        if (log)
            dprintf(2, "monero_shadow: send on fd %d after the peer closed: EPIPE\n", fd);
        errno = EPIPE;
    }
    return closed;
}

ssize_t send(int fd, const void *buf, size_t len, int flags) {
    if (peer_closed(fd))
        return -1;
    return syscall(SYS_sendto, fd, buf, len, flags, NULL, 0);
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *addr,
               socklen_t addrlen) {
    if (peer_closed(fd))
        return -1;
    return syscall(SYS_sendto, fd, buf, len, flags, addr, addrlen);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
    if (peer_closed(fd))
        return -1;
    return syscall(SYS_sendmsg, fd, msg, flags);
}
