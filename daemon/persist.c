// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "persist.h"

bool persist__shared_map(const char *name)
{
	return (!strncmp(name, "sg_pol_", 7) && strcmp(name, "sg_pol_scratch")) ||
	       !strcmp(name, "sg_denied") || !strcmp(name, "events");
}

static void map_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/map_%s", SG_PIN_DIR, name);
}

void persist__link_path(char *buf, size_t len, const char *hook)
{
	snprintf(buf, len, "%s/link_%s", SG_PIN_DIR, hook);
}

int persist__adopt_maps(struct bpf_object *obj, uint64_t *ringbuf_size)
{
	char path[PATH_MAX];
	struct bpf_map *m;
	int n = 0, err;

	bpf_object__for_each_map(m, obj)
	{
		const char *name = bpf_map__name(m);
		struct bpf_map_info info;
		__u32 len = sizeof(info);
		int fd;

		if (!persist__shared_map(name))
			continue;
		map_path(path, sizeof(path), name);
		fd = bpf_obj_get(path);
		if (fd < 0) {
			/*
			 * Nothing pinned, or bpffs not open to us (systemd and the
			 * daemon mount it 0700): loading says what is missing.
			 */
			if (errno == ENOENT || (errno == EACCES && geteuid() != 0))
				continue;
			err = -errno;
			log_err("cannot open pinned map %s: %s", path, strerror(-err));
			return err;
		}
		memset(&info, 0, sizeof(info));
		if (!strcmp(name, "events") && !bpf_obj_get_info_by_fd(fd, &info, &len) &&
		    info.max_entries != bpf_map__max_entries(m)) {
			log_info("adopting the pinned ring buffer of %u KiB (not %u KiB)",
				 info.max_entries >> 10, bpf_map__max_entries(m) >> 10);
			bpf_map__set_max_entries(m, info.max_entries);
			*ringbuf_size = info.max_entries;
		}
		err = bpf_map__reuse_fd(m, fd);
		close(fd);
		if (err) {
			log_err("cannot adopt pinned map %s: %s (remove %s to start afresh)", path,
				strerror(-err), SG_PIN_DIR);
			return err;
		}
		n++;
	}
	return n;
}

int persist__pin_maps(struct bpf_object *obj)
{
	char path[PATH_MAX];
	struct bpf_map *m;
	int err;

	if (mkdir(SG_PIN_DIR, 0700) && errno != EEXIST)
		return -errno;
	bpf_object__for_each_map(m, obj)
	{
		if (!persist__shared_map(bpf_map__name(m)))
			continue;
		map_path(path, sizeof(path), bpf_map__name(m));
		if (access(path, F_OK) == 0)
			continue;
		err = bpf_obj_pin(bpf_map__fd(m), path) ? -errno : 0;
		if (err) {
			log_err("cannot pin %s: %s", path, strerror(-err));
			return err;
		}
	}
	return 0;
}

void persist__unpin_all(void)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(SG_PIN_DIR);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", SG_PIN_DIR, de->d_name);
		if (unlink(path))
			log_warn("cannot remove %s: %s", path, strerror(errno));
	}
	closedir(d);
	rmdir(SG_PIN_DIR);
}
