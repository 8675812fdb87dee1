/*
 * cli_parquet.c — `lakesync parquet schema|cat|copy`.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int
cli_parquet_main(int argc, char **argv)
{
	(void) argc;
	(void) argv;
	fprintf(stderr, "lakesync parquet: not built yet\n");
	return LK_EXIT_ERROR;
}
