/*
 * cli_delta_maint.h — `lakesync delta checkpoint|optimize|vacuum TABLE …`:
 * table maintenance with the Delta write side (src/delta/maintenance.h).
 */
#ifndef LK_CLI_DELTA_MAINT_H
#define LK_CLI_DELTA_MAINT_H

/* argv[0] is "checkpoint", "optimize" or "vacuum"; argv[1..] its TABLE and
 * options (every one has --help). Returns an exit code of cli.h. */
int cli_delta_maint_main(int argc, char **argv);

#endif
