#include "CSQLiteTuning.h"
#include <sqlite3.h>

/* sqlite3_config is variadic, which Swift cannot call. */
int statussync_sqlite_configure(void) {
    int threading = sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
    int memstatus = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return threading == SQLITE_OK && memstatus == SQLITE_OK;
}
