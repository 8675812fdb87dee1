/*
 * replay.c — runs a libFuzzer target over saved inputs under any compiler,
 * so `make check` replays every fuzz corpus (and every crash once fixed).
 *   replay_<target> DIR|FILE …
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "replay: could not open \"%s\"\n", path);
		return -1;
	}
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *buf = malloc(n > 0 ? (size_t) n : 1);
	if (n > 0 && fread(buf, 1, (size_t) n, f) != (size_t) n) {
		fclose(f);
		free(buf);
		fprintf(stderr, "replay: could not read \"%s\"\n", path);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t) n);
	free(buf);
	return 1;
}

int
main(int argc, char **argv)
{
	int count = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: no such file or directory \"%s\"\n", argv[i]);
			return 1;
		}
		if (S_ISDIR(st.st_mode)) {
			struct dirent **list;
			int n = scandir(argv[i], &list, NULL, alphasort);
			for (int k = 0; k < n; k++) {
				if (list[k]->d_name[0] != '.') {
					char path[4096];
					snprintf(path, sizeof(path), "%s/%s", argv[i], list[k]->d_name);
					int r = run_file(path);
					if (r < 0)
						return 1;
					count += r;
				}
				free(list[k]);
			}
			free(list);
		} else {
			int r = run_file(argv[i]);
			if (r < 0)
				return 1;
			count += r;
		}
	}
	printf("replayed %d inputs\n", count);
	return 0;
}
