// server.c - a tiny HTTP/1.1 server for WASI preview1 sockets: it serves on a listener the host
// pre-opens (wasmscope run --listen 127.0.0.1:8080: the first descriptor after the mounts, fd 3
// without mounts; LISTEN_FD overrides), answering each request with its method, path and body
// length, then the body echoed back. Connections close after one response.
//
//   server [--poll] [--max N]
//
// Blocking mode (default): accept(), recv() until the request is complete, send(), close().
// --poll: non-blocking listener and connections multiplexed with poll() (wasi-libc turns it into
// poll_oneoff), so slow clients never hold up the others. --max N: exit after N responses.
// A client that goes away mid-request is reported on stderr ("client gone: <strerror>").
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_REQUEST 65536
#define MAX_CLIENTS 64

struct client {
  int fd;
  size_t len;
  char buf[MAX_REQUEST];
};

static int served = 0;

// Whether buf holds a whole request; *total is its length (headers and body).
static int complete(const char *buf, size_t len, size_t *total) {
  const char *end = NULL;
  for (size_t i = 0; i + 3 < len; i++) {
    if (memcmp(buf + i, "\r\n\r\n", 4) == 0) {
      end = buf + i + 4;
      break;
    }
  }
  if (end == NULL) return 0;
  size_t body = 0;
  for (const char *p = buf; p < end; p++) {
    if (strncasecmp(p, "\ncontent-length:", 16) == 0) body = (size_t)strtoul(p + 16, NULL, 10);
  }
  *total = (size_t)(end - buf) + body;
  return len >= *total;
}

static int send_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t k = send(fd, p, n, 0);
    if (k < 0) {
      if (errno == EAGAIN) {
        struct pollfd w = {fd, POLLOUT, 0};
        poll(&w, 1, -1);
        continue;
      }
      return -1;
    }
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

static void respond(int fd, const char *req, size_t total) {
  char method[16] = "", path[256] = "";
  sscanf(req, "%15s %255s", method, path);
  const char *body = strstr(req, "\r\n\r\n") + 4;
  size_t body_len = total - (size_t)(body - req);
  char head[512];
  char line[400];
  int line_len = snprintf(line, sizeof line, "%s %s %zu\n", method, path, body_len);
  int head_len = snprintf(head, sizeof head,
                          "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                          (size_t)line_len + body_len, line);
  if (send_all(fd, head, (size_t)head_len) < 0 || send_all(fd, body, body_len) < 0) {
    fprintf(stderr, "send failed: %s\n", strerror(errno));
  }
  served++;
}

static void serve_blocking(int listener, int max) {
  static struct client c;
  while (max == 0 || served < max) {
    struct sockaddr addr;
    socklen_t addr_len = sizeof addr;
    c.fd = accept(listener, &addr, &addr_len);
    if (c.fd < 0) {
      fprintf(stderr, "accept: %s\n", strerror(errno));
      exit(1);
    }
    c.len = 0;
    size_t total = 0;
    while (!complete(c.buf, c.len, &total)) {
      if (c.len == MAX_REQUEST) break;
      ssize_t n = recv(c.fd, c.buf + c.len, MAX_REQUEST - c.len, 0);
      if (n <= 0) {
        fprintf(stderr, "client gone: %s\n", n == 0 ? "end of stream" : strerror(errno));
        total = 0;
        break;
      }
      c.len += (size_t)n;
    }
    if (total > 0 && total <= c.len) respond(c.fd, c.buf, total);
    close(c.fd);
  }
}

static void serve_poll(int listener, int max) {
  static struct client clients[MAX_CLIENTS];
  struct pollfd fds[MAX_CLIENTS + 1];
  int n = 0;
  fcntl(listener, F_SETFL, fcntl(listener, F_GETFL) | O_NONBLOCK);
  while (max == 0 || served < max) {
    fds[0] = (struct pollfd){listener, POLLIN, 0};
    for (int i = 0; i < n; i++) fds[i + 1] = (struct pollfd){clients[i].fd, POLLIN, 0};
    if (poll(fds, (nfds_t)n + 1, -1) < 0) {
      fprintf(stderr, "poll: %s\n", strerror(errno));
      exit(1);
    }
    for (int i = n - 1; i >= 0; i--) {
      if (fds[i + 1].revents == 0) continue;
      struct client *c = &clients[i];
      ssize_t k = recv(c->fd, c->buf + c->len, MAX_REQUEST - c->len, 0);
      if (k < 0 && errno == EAGAIN) continue;
      size_t total = 0;
      int done = 0;
      if (k <= 0) {
        fprintf(stderr, "client gone: %s\n", k == 0 ? "end of stream" : strerror(errno));
        done = 1;
      } else {
        c->len += (size_t)k;
        if (complete(c->buf, c->len, &total)) {
          respond(c->fd, c->buf, total);
          done = 1;
        } else if (c->len == MAX_REQUEST) {
          done = 1;
        }
      }
      if (done) {
        close(c->fd);
        clients[i] = clients[--n];
      }
    }
    if (fds[0].revents != 0) {
      for (;;) {
        if (n == MAX_CLIENTS) break;
        struct sockaddr addr;
        socklen_t addr_len = sizeof addr;
        int fd = accept4(listener, &addr, &addr_len, SOCK_NONBLOCK);
        if (fd < 0) {
          if (errno != EAGAIN) fprintf(stderr, "accept: %s\n", strerror(errno));
          break;
        }
        clients[n].fd = fd;
        clients[n].len = 0;
        n++;
      }
    }
  }
}

int main(int argc, char **argv) {
  int use_poll = 0, max = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--poll") == 0) use_poll = 1;
    else if (strcmp(argv[i], "--max") == 0 && i + 1 < argc) max = atoi(argv[++i]);
  }
  const char *env = getenv("LISTEN_FD");
  int listener = env != NULL ? atoi(env) : 3;
  if (use_poll) serve_poll(listener, max);
  else serve_blocking(listener, max);
  fprintf(stderr, "served %d\n", served);
  return 0;
}
