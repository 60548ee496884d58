/* NVML stand-in: the NVML C functions that `baler bench` calls, for one GPU that draws a constant power, so
 * the NVML energy path runs without an NVIDIA GPU (host/tests/power_meters.rs, host/tests/gpu_device.rs).
 *
 * The device's name: BALER_NVML_STANDIN_NAME, default "NVIDIA Stand-in GPU". Build options: -DSTANDIN_WATTS=W
 * (its power, default 70), -DSTANDIN_NO_COUNTER (no energy counter, as before Volta: only the power reading).
 * Written from NVML's documented API; no NVIDIA code. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int nvmlReturn_t;
typedef struct nvmlDevice_st *nvmlDevice_t;
struct nvmlDevice_st {
    int unused;
};

enum { NVML_SUCCESS = 0, NVML_ERROR_UNINITIALIZED = 1, NVML_ERROR_INVALID_ARGUMENT = 2,
       NVML_ERROR_NOT_SUPPORTED = 3, NVML_ERROR_INSUFFICIENT_SIZE = 7 };

static struct nvmlDevice_st the_gpu;
static int initialised;
static double started; /* seconds, CLOCK_MONOTONIC, at nvmlInit */

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

#ifndef STANDIN_WATTS
#define STANDIN_WATTS 70.0
#endif

nvmlReturn_t nvmlInit_v2(void) {
    if (!initialised) started = now();
    initialised++;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlShutdown(void) {
    if (!initialised) return NVML_ERROR_UNINITIALIZED;
    initialised--;
    return NVML_SUCCESS;
}

const char *nvmlErrorString(nvmlReturn_t r) { return r == NVML_SUCCESS ? "Success" : "stand-in error"; }

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count) {
    if (!initialised) return NVML_ERROR_UNINITIALIZED;
    if (!count) return NVML_ERROR_INVALID_ARGUMENT;
    *count = 1;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device) {
    if (!initialised) return NVML_ERROR_UNINITIALIZED;
    if (index != 0 || !device) return NVML_ERROR_INVALID_ARGUMENT;
    *device = &the_gpu;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length) {
    const char *n = getenv("BALER_NVML_STANDIN_NAME");
    if (!n) n = "NVIDIA Stand-in GPU";
    if (device != &the_gpu || !name) return NVML_ERROR_INVALID_ARGUMENT;
    if (strlen(n) + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
    strcpy(name, n);
    return NVML_SUCCESS;
}

/* Energy since nvmlInit, mJ. */
nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device, unsigned long long *energy) {
    if (device != &the_gpu || !energy) return NVML_ERROR_INVALID_ARGUMENT;
#ifdef STANDIN_NO_COUNTER
    return NVML_ERROR_NOT_SUPPORTED;
#endif
    *energy = (unsigned long long)(STANDIN_WATTS * (now() - started) * 1e3);
    return NVML_SUCCESS;
}

/* Board power, mW. */
nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *power) {
    if (device != &the_gpu || !power) return NVML_ERROR_INVALID_ARGUMENT;
    *power = (unsigned int)(STANDIN_WATTS * 1e3);
    return NVML_SUCCESS;
}
