// OpenBLAS's CBLAS interface. On Debian 12 `pkg-config openblas` puts
// /usr/include/x86_64-linux-gnu/openblas-pthread/ on the include path, so this resolves
// to the pthread build's header, which also declares openblas_set_num_threads and
// openblas_get_corename (used to record the compute fingerprint).
#include <cblas.h>
