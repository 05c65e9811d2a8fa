// SPDX-License-Identifier: MIT
/*
 * trafficgen tcp-server: one epoll loop over the listener, the stop signal
 * and every connection: read each to EOF, then reply --reply bytes, reset
 * (--rst) or answer 4 bytes with 4 (--echo4, for storm) and close. Prints
 * {"listening":PORT}, then its totals on SIGTERM/SIGINT or after --max-conns.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/epoll.h>

#include "trafficgen.h"

enum srv_kind { SRV_LISTEN, SRV_SIGNAL, SRV_CONN };

struct srv_tag {
	enum srv_kind kind;
};

struct srv_conn {
	struct srv_tag tag;	      /* first: epoll data points here */
	struct srv_conn *prev, *next; /* open connections, freed at exit */
	int fd;
	bool writing;
	bool want_out; /* registered for EPOLLOUT */
	uint64_t in;
	uint64_t to_send;
};

struct tcp_server {
	const struct opts *o;
	int ep;
	int lfd;
	bool accepting; /* lfd is in the epoll set */
	struct srv_conn *conns;
	uint64_t accepted, handled, active, errors;
	uint64_t bytes_received, bytes_sent;
	unsigned char buf[IO_CHUNK];
};

static void srv_set_accepting(struct tcp_server *s, bool on)
{
	static struct srv_tag listen_tag = { SRV_LISTEN };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &listen_tag };

	if (on == s->accepting)
		return;
	if (epoll_ctl(s->ep, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, s->lfd, &ev))
		tool_die_setup("epoll_ctl(listen): %s", strerror(errno));
	s->accepting = on;
}

static void srv_conn_close(struct tcp_server *s, struct srv_conn *c, bool rst)
{
	if (rst)
		set_linger0(c->fd);
	close(c->fd); /* also leaves the epoll set */
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
	s->handled++;
	s->active--;
	if (!s->accepting && (!s->o->max_conns || s->accepted < s->o->max_conns))
		srv_set_accepting(s, true);
}

static void srv_accept(struct tcp_server *s)
{
	while (!s->o->max_conns || s->accepted < s->o->max_conns) {
		struct epoll_event ev = { .events = EPOLLIN };
		struct srv_conn *c;
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if ((errno == EMFILE || errno == ENFILE) && s->active > 0) {
				/* resume when a connection closes */
				srv_set_accepting(s, false);
				return;
			}
			tool_die_setup("accept: %s", strerror(errno));
		}
		c = calloc(1, sizeof(*c));
		if (!c)
			tool_die_setup("out of memory");
		c->tag.kind = SRV_CONN;
		c->fd = fd;
		c->next = s->conns;
		if (s->conns)
			s->conns->prev = c;
		s->conns = c;
		ev.data.ptr = c;
		if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev))
			tool_die_setup("epoll_ctl(conn): %s", strerror(errno));
		s->accepted++;
		s->active++;
	}
	srv_set_accepting(s, false);
}

static void srv_want_out(struct tcp_server *s, struct srv_conn *c)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };

	if (c->want_out)
		return;
	if (epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev))
		tool_die_setup("epoll_ctl(mod): %s", strerror(errno));
	c->want_out = true;
}

/* Read until EOF (or 4 bytes with --echo4), then reply / reset / close.
 * At most SRV_BATCH reads or writes per wakeup, so one fast peer cannot
 * starve the others or the deadline check (epoll is level-triggered). */
#define SRV_BATCH 64
static void srv_conn_io(struct tcp_server *s, struct srv_conn *c)
{
	const struct opts *o = s->o;
	unsigned int batch = 0;

	while (!c->writing) {
		ssize_t r;

		if (++batch > SRV_BATCH)
			return;
		r = recv(c->fd, s->buf, o->echo4 ? 4 - c->in : sizeof(s->buf), 0);
		if (r > 0) {
			c->in += (uint64_t)r;
			s->bytes_received += (uint64_t)r;
			if (o->echo4 && c->in >= 4) {
				c->writing = true;
				c->to_send = 4;
			}
			continue;
		}
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			s->errors++;
			srv_conn_close(s, c, false);
			return;
		}
		/* EOF */
		if (o->rst || o->echo4 || o->reply == 0) {
			srv_conn_close(s, c, o->rst);
			return;
		}
		c->writing = true;
		c->to_send = o->reply;
	}
	while (c->to_send > 0) {
		size_t chunk = c->to_send < IO_CHUNK ? (size_t)c->to_send : IO_CHUNK;
		ssize_t w;

		if (++batch > SRV_BATCH) {
			srv_want_out(s, c); /* level-triggered: EPOLLOUT brings us back */
			return;
		}
		w = send(c->fd, g_pattern, chunk, MSG_NOSIGNAL);
		if (w > 0) {
			c->to_send -= (uint64_t)w;
			s->bytes_sent += (uint64_t)w;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			srv_want_out(s, c);
			return;
		} else if (errno != EINTR) {
			s->errors++;
			srv_conn_close(s, c, false);
			return;
		}
	}
	/* With --echo4 the server closes first: TIME_WAIT stays on this side
	 * and a storm client never runs out of ephemeral ports. */
	srv_conn_close(s, c, false);
}

int cmd_tcp_server(const struct opts *o)
{
	static struct srv_tag signal_tag = { SRV_SIGNAL };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &signal_tag };
	struct epoll_event evs[256];
	struct tcp_server *s;
	int sfd, i, n;
	bool stop = false;

	s = calloc(1, sizeof(*s));
	if (!s)
		tool_die_setup("out of memory");
	s->o = o;
	sfd = stop_signal_fd();
	s->lfd = bind_socket(o, SOCK_STREAM);
	if (listen(s->lfd, 4096))
		tool_die_setup("listen: %s", strerror(errno));
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	if (s->ep < 0)
		tool_die_setup("epoll_create1: %s", strerror(errno));
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, sfd, &ev))
		tool_die_setup("epoll_ctl(signalfd): %s", strerror(errno));
	srv_set_accepting(s, true);

	printf("{\"listening\":%u}\n", sock_local_port(s->lfd));
	fflush(stdout);

	while (!stop && !(o->max_conns && s->handled >= o->max_conns)) {
		n = epoll_wait(s->ep, evs, 256, remaining_ms("serving tcp"));
		if (wait_interrupted(n, "epoll_wait", "serving tcp"))
			continue;
		for (i = 0; i < n; i++) {
			struct srv_tag *tag = evs[i].data.ptr;

			if (tag->kind == SRV_SIGNAL)
				stop = true;
			else if (tag->kind == SRV_LISTEN)
				srv_accept(s);
			else
				srv_conn_io(s, (struct srv_conn *)tag);
		}
	}
	printf("{\"accepted\":%" PRIu64 ",\"bytes_received\":%" PRIu64 ",\"bytes_sent\":%" PRIu64
	       ",\"handled\":%" PRIu64 ",\"errors\":%" PRIu64 "}\n",
	       s->accepted, s->bytes_received, s->bytes_sent, s->handled, s->errors);
	fflush(stdout);
	while (s->conns) {
		struct srv_conn *c = s->conns;

		s->conns = c->next;
		close(c->fd);
		free(c);
	}
	close(s->ep);
	close(s->lfd);
	close(sfd);
	free(s);
	return 0;
}
