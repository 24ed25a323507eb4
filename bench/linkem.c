/*
 * linkem: a link emulator for 127.0.0.1, for the benchmarks.
 *
 *   linkem --to PORT [--listen PORT] [--port-file FILE]
 *          [--delay-ms D] [--rate-mbit R] [--window-kib W] [--queue-kib Q]
 *
 * Accepts connections on 127.0.0.1 and relays each to 127.0.0.1:PORT as
 * if through a link with a one-way delay of D ms in each direction (round
 * trip 2D), a rate of R Mbit/s in each direction shared by every
 * connection, and at most W KiB of one connection's data in flight in one
 * direction per round trip (as a TCP window that never grows past W caps a
 * stream at W / RTT). The link's queue holds at most Q KiB (default 4096)
 * waiting to be sent; while it is full no connection is read in that
 * direction, as a router's buffer pushes back. For kernels without netem.
 *
 * Model: a chunk read from one side at time t leaves the link's queue once
 * the link has sent everything queued before it (rate), arrives D later,
 * and its bytes count against the connection's window until D after that
 * (the acknowledgement's way back). Reading from a side stops while its
 * window is full, so the sender sees the back pressure. One thread, poll().
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 256
#define CHUNK 16384

struct chunk {
	struct chunk *next;
	double arrive;        /* may be written to the other side from then */
	double acked;         /* leaves the window then */
	size_t len, off;
	char data[];
};

/* One direction of one connection: from fd src to fd dst. */
struct pipe_dir {
	int src, dst;
	struct chunk *head, *tail;   /* in order: written, then being acknowledged */
	size_t in_flight;            /* bytes counting against the window */
	int eof;                     /* src ended: shut dst down once drained */
};

struct conn {
	int used;
	struct pipe_dir dir[2];
};

static double delay_s, rate_Bps, window_bytes, queue_bytes = 4096 * 1024;
static double link_free[2];      /* per direction: when the link has sent its queue */
static struct conn conns[MAX_CONNS];

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void
close_conn(struct conn *c)
{
	int d;

	for (d = 0; d < 2; d++) {
		while (c->dir[d].head) {
			struct chunk *k = c->dir[d].head;

			c->dir[d].head = k->next;
			free(k);
		}
	}
	close(c->dir[0].src);
	close(c->dir[0].dst);
	memset(c, 0, sizeof *c);
}

/* Is the link's queue in direction d full at time t? */
static int
queue_full(int d, double t)
{
	return rate_Bps > 0 && (link_free[d] - t) * rate_Bps > queue_bytes;
}

/* Read what the window allows from src into the link. Returns -1 on error. */
static int
take(struct pipe_dir *p, int d, double t)
{
	size_t room = window_bytes > 0 ? (size_t)window_bytes - p->in_flight : CHUNK;
	struct chunk *k;
	ssize_t n;

	if (p->eof || (window_bytes > 0 && p->in_flight >= (size_t)window_bytes) ||
	    queue_full(d, t))
		return 0;
	if (room > CHUNK)
		room = CHUNK;
	k = malloc(sizeof *k + room);
	if (k == NULL)
		return -1;
	n = read(p->src, k->data, room);
	if (n <= 0) {
		free(k);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		p->eof = 1;
		return 0;
	}
	k->len = (size_t)n;
	k->off = 0;
	k->next = NULL;
	/* The link sends queued bytes one after the other at its rate. */
	if (link_free[d] < t)
		link_free[d] = t;
	if (rate_Bps > 0)
		link_free[d] += (double)n / rate_Bps;
	k->arrive = link_free[d] + delay_s;
	k->acked = k->arrive + delay_s;
	p->in_flight += (size_t)n;
	if (p->tail)
		p->tail->next = k;
	else
		p->head = k;
	p->tail = k;
	return 0;
}

/* Write what has arrived; drop what is acknowledged. Returns -1 on error. */
static int
give(struct pipe_dir *p, double t, double *next)
{
	struct chunk *k;

	for (k = p->head; k; k = k->next) {
		if (k->off == k->len)
			continue;
		if (k->arrive > t) {
			if (k->arrive < *next)
				*next = k->arrive;
			break;
		}
		while (k->off < k->len) {
			ssize_t n = write(p->dst, k->data + k->off, k->len - k->off);

			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR)
					return 0;
				return -1;
			}
			k->off += (size_t)n;
		}
	}
	while ((k = p->head) && k->off == k->len && k->acked <= t) {
		p->in_flight -= k->len;
		p->head = k->next;
		if (p->head == NULL)
			p->tail = NULL;
		free(k);
	}
	if (p->head && p->head->off == p->head->len && p->head->acked < *next)
		*next = p->head->acked;
	return 0;
}

static int
pending_write(const struct pipe_dir *p, double t)
{
	const struct chunk *k;

	for (k = p->head; k; k = k->next)
		if (k->off < k->len)
			return k->arrive <= t;
	return 0;
}

static int
drained(const struct pipe_dir *p)
{
	const struct chunk *k;

	for (k = p->head; k; k = k->next)
		if (k->off < k->len)
			return 0;
	return 1;
}

static int
connect_to(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	nonblock(fd);
	return fd;
}

static void
usage(void)
{
	fprintf(stderr, "usage: linkem --to PORT [--listen PORT] [--port-file FILE] "
		"[--delay-ms D] [--rate-mbit R] [--window-kib W] [--queue-kib Q]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct pollfd pfd[1 + 2 * MAX_CONNS];
	int to = 0, listen_port = 0, lfd, one = 1, i, d;
	const char *port_file = NULL;
	socklen_t alen = sizeof a;

	for (i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (v == NULL)
			usage();
		if (strcmp(argv[i], "--to") == 0)
			to = atoi(v);
		else if (strcmp(argv[i], "--listen") == 0)
			listen_port = atoi(v);
		else if (strcmp(argv[i], "--port-file") == 0)
			port_file = v;
		else if (strcmp(argv[i], "--delay-ms") == 0)
			delay_s = atof(v) / 1000.0;
		else if (strcmp(argv[i], "--rate-mbit") == 0)
			rate_Bps = atof(v) * 1e6 / 8;
		else if (strcmp(argv[i], "--window-kib") == 0)
			window_bytes = atof(v) * 1024;
		else if (strcmp(argv[i], "--queue-kib") == 0)
			queue_bytes = atof(v) * 1024;
		else
			usage();
		i++;
	}
	if (to <= 0)
		usage();
	signal(SIGPIPE, SIG_IGN);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	a.sin_port = htons((uint16_t)listen_port);
	if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 64) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen) < 0) {
		perror("linkem: listen");
		return 1;
	}
	if (port_file) {
		FILE *f = fopen(port_file, "w");

		if (f == NULL || fprintf(f, "%d\n", ntohs(a.sin_port)) < 0 || fclose(f) != 0) {
			perror("linkem: port file");
			return 1;
		}
	} else
		printf("%d\n", ntohs(a.sin_port));
	fflush(stdout);

	for (;;) {
		double t = now(), next = t + 1.0;
		int n = 0, timeout;

		/* A full queue is read again once it has room. */
		for (d = 0; d < 2; d++)
			if (queue_full(d, t)) {
				double room = link_free[d] - queue_bytes / rate_Bps;

				if (room < next)
					next = room;
			}

		pfd[n].fd = lfd;
		pfd[n++].events = POLLIN;
		for (i = 0; i < MAX_CONNS; i++) {
			struct conn *c = &conns[i];

			if (!c->used)
				continue;
			for (d = 0; d < 2; d++) {
				struct pipe_dir *p = &c->dir[d];

				if (give(p, t, &next) < 0)
					p->eof = 2;
			}
			/* Both ends finished and everything delivered: done. */
			if ((c->dir[0].eof && drained(&c->dir[0]) && c->dir[1].eof &&
			     drained(&c->dir[1])) || c->dir[0].eof == 2 || c->dir[1].eof == 2) {
				close_conn(c);
				continue;
			}
			for (d = 0; d < 2; d++) {
				struct pipe_dir *p = &c->dir[d];

				if (p->eof == 1 && drained(p))
					shutdown(p->dst, SHUT_WR);
			}
			/* fd of side 0 reads for dir 0 and writes for dir 1. */
			for (d = 0; d < 2; d++) {
				struct pipe_dir *p = &c->dir[d], *back = &c->dir[1 - d];
				short ev = 0;

				if (!p->eof && !queue_full(d, t) &&
				    (window_bytes <= 0 || p->in_flight < (size_t)window_bytes))
					ev |= POLLIN;
				if (pending_write(back, t))
					ev |= POLLOUT;
				pfd[n].fd = p->src;
				pfd[n++].events = ev;
			}
		}
		timeout = (int)((next - now()) * 1000);
		if (timeout < 0)
			timeout = 0;
		if (poll(pfd, (nfds_t)n, timeout) < 0 && errno != EINTR) {
			perror("linkem: poll");
			return 1;
		}
		t = now();
		if (pfd[0].revents & POLLIN) {
			int cfd = accept(lfd, NULL, NULL), ufd;

			if (cfd >= 0) {
				for (i = 0; i < MAX_CONNS && conns[i].used; i++)
					;
				if (i == MAX_CONNS || (ufd = connect_to(to)) < 0) {
					close(cfd);
				} else {
					setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
					nonblock(cfd);
					memset(&conns[i], 0, sizeof conns[i]);
					conns[i].used = 1;
					conns[i].dir[0].src = cfd;
					conns[i].dir[0].dst = ufd;
					conns[i].dir[1].src = ufd;
					conns[i].dir[1].dst = cfd;
				}
			}
		}
		for (i = 0; i < MAX_CONNS; i++) {
			struct conn *c = &conns[i];

			if (!c->used)
				continue;
			for (d = 0; d < 2; d++)
				if (take(&c->dir[d], d, t) < 0)
					c->dir[d].eof = 2;
		}
	}
}
