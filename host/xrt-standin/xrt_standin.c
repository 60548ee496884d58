/* XRT stand-in: the C functions of XRT's native API (xrt_device.h, xrt_kernel.h, xrt_bo.h) that baler's runtime
 * calls, implemented over a C-simulated baler kernel so that the exact host code path of a card runs without
 * one. The "xclbin" it loads is the kernel's shared library (lib<name>.so, built by `baler hls --csim`); buffers
 * live in host memory; a run executes the kernel on its own thread, as a card runs while the host goes on.
 * Kernels have baler's signature: (const intN_t* in, intM_t* out, unsigned int frames).
 * Fault injection for tests: BALER_XRT_STANDIN_FAIL=open|load|run makes that step fail.
 * Build: cc -shared -fPIC -O2 xrt_standin.c -o libxrt_coreutil.so -ldl -lpthread */
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { STATE_COMPLETED = 4, STATE_ERROR = 5 };

typedef void (*kernel_fn)(const void*, void*, unsigned int);

struct device { void* library; unsigned char uuid[16]; };
struct kernel { kernel_fn fn; };
struct buffer { void* data; size_t size; };
struct run {
    struct kernel* kernel;
    struct buffer* in;
    struct buffer* out;
    unsigned int frames;
    pthread_t thread;
    int started;
};

static int failing(const char* step) {
    const char* fail = getenv("BALER_XRT_STANDIN_FAIL");
    return fail && strcmp(fail, step) == 0;
}

void* xrtDeviceOpen(unsigned int index) {
    if (index != 0 || failing("open")) return NULL;
    return calloc(1, sizeof(struct device));
}

int xrtDeviceClose(void* handle) {
    struct device* d = handle;
    if (!d) return -1;
    if (d->library) dlclose(d->library);
    free(d);
    return 0;
}

int xrtDeviceLoadXclbinFile(void* handle, const char* path) {
    struct device* d = handle;
    if (!d || failing("load")) return -1;
    d->library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!d->library) return -1;
    /* a uuid derived from the path, so that a reload is visible */
    for (size_t i = 0; path[i]; i++) d->uuid[i % 16] = (unsigned char)(d->uuid[i % 16] * 31 + path[i]);
    return 0;
}

int xrtDeviceGetXclbinUUID(void* handle, unsigned char* out) {
    struct device* d = handle;
    if (!d || !d->library) return -1;
    memcpy(out, d->uuid, 16);
    return 0;
}

void* xrtPLKernelOpen(void* handle, const unsigned char* uuid, const char* name) {
    struct device* d = handle;
    if (!d || !d->library || memcmp(uuid, d->uuid, 16) != 0) return NULL;
    kernel_fn fn = (kernel_fn)dlsym(d->library, name);
    if (!fn) return NULL;
    struct kernel* k = malloc(sizeof *k);
    k->fn = fn;
    return k;
}

int xrtKernelClose(void* handle) {
    free(handle);
    return 0;
}

/* one memory bank per argument */
int xrtKernelArgGroupId(void* handle, int argno) { return handle && argno >= 0 && argno < 2 ? argno : -1; }

void* xrtBOAlloc(void* device, size_t size, uint64_t flags, uint32_t group) {
    (void)flags;
    (void)group;
    if (!device) return NULL;
    struct buffer* b = malloc(sizeof *b);
    b->data = calloc(1, size ? size : 1);
    b->size = size;
    return b;
}

int xrtBOFree(void* handle) {
    struct buffer* b = handle;
    if (!b) return -1;
    free(b->data);
    free(b);
    return 0;
}

int xrtBOWrite(void* handle, const void* src, size_t size, size_t seek) {
    struct buffer* b = handle;
    if (!b || seek + size > b->size) return -1;
    memcpy((char*)b->data + seek, src, size);
    return 0;
}

int xrtBORead(void* handle, void* dst, size_t size, size_t skip) {
    struct buffer* b = handle;
    if (!b || skip + size > b->size) return -1;
    memcpy(dst, (char*)b->data + skip, size);
    return 0;
}

/* host memory is the device memory here */
int xrtBOSync(void* handle, int direction, size_t size, size_t offset) {
    struct buffer* b = handle;
    (void)direction;
    return b && offset + size <= b->size ? 0 : -1;
}

void* xrtBOMap(void* handle) {
    struct buffer* b = handle;
    return b ? b->data : NULL;
}

void* xrtRunOpen(void* kernel) {
    if (!kernel) return NULL;
    struct run* r = calloc(1, sizeof *r);
    r->kernel = kernel;
    return r;
}

int xrtRunSetArg(void* handle, int index, ...) {
    struct run* r = handle;
    if (!r) return -1;
    va_list args;
    va_start(args, index);
    int status = 0;
    switch (index) {
    case 0: r->in = va_arg(args, struct buffer*); break;
    case 1: r->out = va_arg(args, struct buffer*); break;
    case 2: r->frames = va_arg(args, unsigned int); break;
    default: status = -1;
    }
    va_end(args);
    return status;
}

static void* execute(void* handle) {
    struct run* r = handle;
    r->kernel->fn(r->in->data, r->out->data, r->frames);
    return NULL;
}

int xrtRunStart(void* handle) {
    struct run* r = handle;
    if (!r || !r->in || !r->out || r->started) return -1;
    if (pthread_create(&r->thread, NULL, execute, r) != 0) return -1;
    r->started = 1;
    return 0;
}

int xrtRunWait(void* handle) {
    struct run* r = handle;
    if (!r || !r->started) return STATE_ERROR;
    pthread_join(r->thread, NULL);
    r->started = 0;
    return failing("run") ? STATE_ERROR : STATE_COMPLETED;
}

int xrtRunClose(void* handle) {
    struct run* r = handle;
    if (r && r->started) pthread_join(r->thread, NULL);
    free(r);
    return 0;
}
