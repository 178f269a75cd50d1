# Declarations of the POSIX threading and clock API the core uses.
# Cython's bundled `posix` package lacks pthreads, so they are declared here.

from libc.time cimport time_t

cdef extern from "<sys/types.h>" nogil:
    ctypedef long ssize_t

cdef extern from "<time.h>" nogil:
    cdef struct timespec:
        time_t tv_sec
        long tv_nsec
    ctypedef int clockid_t
    enum:
        CLOCK_REALTIME
        CLOCK_MONOTONIC
    int clock_gettime(clockid_t clk, timespec *ts)
    int nanosleep(const timespec *req, timespec *rem)

cdef extern from "<pthread.h>" nogil:
    ctypedef struct pthread_t:
        pass
    ctypedef struct pthread_attr_t:
        pass
    ctypedef struct pthread_mutex_t:
        pass
    ctypedef struct pthread_mutexattr_t:
        pass
    ctypedef struct pthread_cond_t:
        pass
    ctypedef struct pthread_condattr_t:
        pass

    int pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                       void *(*start)(void *) noexcept nogil, void *arg)
    int pthread_join(pthread_t thread, void **retval)

    int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *attr)
    int pthread_mutex_destroy(pthread_mutex_t *m)
    int pthread_mutex_lock(pthread_mutex_t *m)
    int pthread_mutex_unlock(pthread_mutex_t *m)
    int pthread_mutex_trylock(pthread_mutex_t *m)

    int pthread_condattr_init(pthread_condattr_t *attr)
    int pthread_condattr_destroy(pthread_condattr_t *attr)
    int pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *attr)
    int pthread_cond_destroy(pthread_cond_t *c)
    int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
    int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const timespec *abstime)
    int pthread_cond_signal(pthread_cond_t *c)
    int pthread_cond_broadcast(pthread_cond_t *c)

cdef extern from "<errno.h>" nogil:
    enum:
        ETIMEDOUT

cdef extern from "<fcntl.h>" nogil:
    enum:
        O_WRONLY
        O_CREAT
        O_APPEND
        O_RDONLY
    int open(const char *path, int flags, ...)

cdef extern from "<unistd.h>" nogil:
    ssize_t write(int fd, const void *buf, size_t n)
    ssize_t read(int fd, void *buf, size_t n)
    int close(int fd)
    int fsync(int fd)

cdef extern from "<errno.h>" nogil:
    int errno
    enum:
        EINTR

cdef extern from "<stdio.h>" nogil:
    int snprintf(char *buf, size_t n, const char *fmt, ...)

cdef extern from "<fcntl.h>" nogil:
    enum:
        O_TRUNC

cdef extern from "<stdio.h>" nogil:
    int rename(const char *old, const char *new)
