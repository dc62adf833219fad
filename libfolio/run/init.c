/* Loading the library: the configuration, glibc's malloc_usable_size, the fork handlers.
 * Nothing else happens until the program's first large request. */
#include "run.h"

void run_malloc_init(void);

__attribute__((constructor)) static void run_init(void)
{
	run_config_load();
	run_malloc_init();
	run_fork_init();
}
