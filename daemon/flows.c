// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Flows: see flows.h. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "clock.h"
#include "events.h"
#include "flows.h"
#include "log.h"
#include "sendguard.h"
#include "trace.skel.h"

#define SWEEP_MS    1000
#define BATCH_SLACK 64 /* entries: more than one hash bucket ever holds */

struct flow_seen {
	struct sg_flow_key key;
	uint64_t count; /* the kernel's count and bytes at the last record */
	uint64_t bytes;
	bool used;
};

static uint64_t key_hash(const struct sg_flow_key *k)
{
	const unsigned char *b = (const unsigned char *)k;
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}

/* The entry of k; a new one (nothing reported yet) when there is none; NULL: no room. */
static struct flow_seen *seen_get(struct flows *f, const struct sg_flow_key *k)
{
	uint64_t i = key_hash(k) & f->mask;

	while (f->seen[i].used) {
		if (!memcmp(&f->seen[i].key, k, sizeof(*k)))
			return &f->seen[i];
		i = (i + 1) & f->mask;
	}
	/* Twice the kernel's entries: never full, unless the kernel's table were not ours alone. */
	if (f->nseen + 1 >= f->mask)
		return NULL;
	f->seen[i].used = true;
	f->seen[i].key = *k;
	f->seen[i].count = 0;
	f->seen[i].bytes = 0;
	f->nseen++;
	return &f->seen[i];
}

/* Remove entry s, moving back the entries of its probe run (no tombstones). */
static void seen_del(struct flows *f, struct flow_seen *s)
{
	uint64_t i = (uint64_t)(s - f->seen), j = i, h;

	f->seen[i].used = false;
	f->nseen--;
	for (;;) {
		j = (j + 1) & f->mask;
		if (!f->seen[j].used)
			return;
		h = key_hash(&f->seen[j].key) & f->mask;
		/* Entry j may move to i when its home is not cyclically in (i, j]. */
		if ((i <= j) ? (i < h && h <= j) : (i < h || h <= j))
			continue;
		f->seen[i] = f->seen[j];
		f->seen[j].used = false;
		i = j;
	}
}

/*
 * n zeroed bytes that cost memory only where they are used (calloc may serve
 * them from a heap that grew while the objects loaded, and write them all).
 */
/* Entries of f->keys and f->vals: the table and BATCH_SLACK more (see read_table). */
static uint32_t buf_entries(const struct flows *f)
{
	return f->max + BATCH_SLACK;
}

static void *zeroed(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

int flows__init(struct flows *f, struct trace_bpf *skel, int mode, uint64_t interval_s)
{
	uint64_t slots = 2;

	memset(f, 0, sizeof(*f));
	f->on = true;
	f->mode = mode;
	f->fd = bpf_map__fd(skel->maps.sg_flows);
	f->max = bpf_map__max_entries(skel->maps.sg_flows);
	f->interval_ms = interval_s * 1000;
	f->idle_ns = skel->rodata->flow_idle_ns;
	f->epoch = &skel->bss->flow_epoch;
	f->table_full = &skel->bss->flow_table_full;
	f->stale = &skel->bss->flow_stale;
	while (slots < 2 * (uint64_t)f->max)
		slots <<= 1;
	f->mask = slots - 1;
	f->seen = zeroed(slots * sizeof(*f->seen));
	f->keys = zeroed(buf_entries(f) * sizeof(*f->keys));
	f->vals = zeroed(buf_entries(f) * sizeof(*f->vals));
	f->seen_bytes = slots * sizeof(*f->seen);
	if (!f->seen || !f->keys || !f->vals) {
		flows__free(f);
		return -ENOMEM;
	}
	/* Epoch 0 is what a new entry's windows say: never a live one. */
	__atomic_store_n(f->epoch, 1, __ATOMIC_RELEASE);
	f->next_sweep_ms = sg_clock_mono_ms() + SWEEP_MS;
	f->next_report_ms = sg_clock_mono_ms() + f->interval_ms;
	return 0;
}

void flows__free(struct flows *f)
{
	if (f->seen)
		munmap(f->seen, f->seen_bytes);
	if (f->keys)
		munmap(f->keys, buf_entries(f) * sizeof(*f->keys));
	if (f->vals)
		munmap(f->vals, buf_entries(f) * sizeof(*f->vals));
	f->seen = NULL;
	f->keys = NULL;
	f->vals = NULL;
	f->on = false;
}

uint32_t flows__active(const struct flows *f)
{
	return f->on ? f->nseen : 0;
}

/*
 * The whole table into f->keys/vals (room for BATCH_SLACK more than the
 * table holds: a batch returns whole hash buckets, ENOSPC when the room left
 * is smaller than the next one). The number of flows read, or -errno when
 * none could be; a read cut short by an error is used as far as it got.
 */
static long read_table(struct flows *f)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct sg_flow_key token;
	uint32_t n = 0, got, cap = buf_entries(f);
	bool first = true;
	int err;

	while (n < cap) {
		got = cap - n;
		err = bpf_map_lookup_batch(f->fd, first ? NULL : &token, &token, f->keys + n,
					   f->vals + n, &got, &opts);
		n += got;
		first = false;
		if (err) {
			err = -errno;
			return err == -ENOENT || n ? (long)n : err;
		}
	}
	return n;
}

/*
 * The time of the first send a record of v carries: the first of the window
 * that closed (epoch e) or, where the flow counted only after it closed, of
 * the window that opened; else (a send of an older window that landed after
 * the previous round read the table) the latest send's.
 */
static uint64_t record_first(const struct sg_flow_val *v, uint32_t e)
{
	uint64_t t = v->last_ns;

	if (v->win_epoch[e & 1] == e)
		t = v->win_first[e & 1];
	else if (v->win_epoch[(e + 1) & 1] == e + 1)
		t = v->win_first[(e + 1) & 1];
	return t < v->last_ns ? t : v->last_ns;
}

void flows__tick(struct flows *f, struct pipeline *p, uint64_t now_ms, bool final)
{
	struct sg_flow_rec r;
	uint64_t now_ns, evict_ns, soonest, stale;
	uint32_t e;
	bool report;
	long n;

	if (!f->on)
		return;
	stale = __atomic_load_n(f->stale, __ATOMIC_RELAXED);
	if (!final && now_ms < f->next_sweep_ms && stale == f->stale_seen)
		return;
	f->stale_seen = stale;
	report = final || now_ms >= f->next_report_ms;
	e = __atomic_load_n(f->epoch, __ATOMIC_ACQUIRE);
	/* Sends from here on open the next window: this round reads window e whole. */
	if (report)
		__atomic_store_n(f->epoch, e + 1, __ATOMIC_RELEASE);
	f->next_sweep_ms = now_ms + SWEEP_MS;
	if (report)
		f->next_report_ms = now_ms + f->interval_ms;
	n = read_table(f);
	if (n < 0) {
		if (!f->read_errors++)
			log_warn("cannot read the flow table: %s (flow records are late)",
				 strerror((int)-n));
		return;
	}
	now_ns = sg_clock_boot_now();
	evict_ns = f->idle_ns + SG_FLOW_EVICT_MARGIN_NS;
	soonest = UINT64_MAX; /* ns until the next flow can be evicted */
	for (long i = 0; i < n; i++) {
		const struct sg_flow_val *v = &f->vals[i];
		struct flow_seen *s = seen_get(f, &f->keys[i]);
		int64_t age = (int64_t)(now_ns - v->last_ns);
		bool idle = !final && age >= (int64_t)evict_ns;

		if (!s)
			continue;

		/* Idle in the kernel's eyes already (its sends are events): evict it on time. */
		if (!idle && age >= (int64_t)f->idle_ns && evict_ns - (uint64_t)age < soonest)
			soonest = evict_ns - (uint64_t)age;

		if (v->count != s->count && (report || idle)) {
			r.key = &f->keys[i];
			r.comm = v->comm;
			r.count = v->count - s->count;
			r.bytes = v->bytes - s->bytes;
			r.first_ns = record_first(v, e);
			r.last_ns = v->last_ns;
			r.end = final ? "exit" : idle ? "idle" : NULL;
			if (pipeline__flow(p, &r) == 0) {
				s->count = v->count;
				s->bytes = v->bytes;
				f->counted += r.count;
				f->records++;
			}
		}
		/* No send counts into it any more (the kernel stops at idle_ns): gone. */
		if (idle && v->count == s->count) {
			bpf_map_delete_elem(f->fd, &f->keys[i]);
			seen_del(f, s);
			f->evicted++;
		}
	}
	if (soonest < (uint64_t)SWEEP_MS * 1000000 &&
	    now_ms + soonest / 1000000 + 1 < f->next_sweep_ms)
		f->next_sweep_ms = now_ms + soonest / 1000000 + 1;
}
