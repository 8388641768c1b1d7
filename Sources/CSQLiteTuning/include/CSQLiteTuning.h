#ifndef STATUSSYNC_CSQLITETUNING_H
#define STATUSSYNC_CSQLITETUNING_H

/// Puts SQLite in multi-thread mode (no mutex per connection: GRDB already serializes every
/// connection on its own queue, the mode GRDB documents as the one it supports) and turns off its
/// memory statistics (a global mutex around every allocation). Must run before SQLite opens its
/// first connection; returns 1 when both settings took, 0 when SQLite was already initialized.
int statussync_sqlite_configure(void);

#endif
