#ifndef STATUSSYNC_CMALLOCTUNING_H
#define STATUSSYNC_CMALLOCTUNING_H

/// Sets glibc's M_TRIM_THRESHOLD: how much free memory at the top of a heap malloc keeps instead of
/// returning it to the kernel. Returns 1 on success, 0 where it cannot be set (not glibc).
int statussync_set_malloc_trim_threshold(int bytes);

#endif
