//! XRT's C API behind one safe wrapper: the library and its functions are resolved once, and every handle XRT
//! returns is owned by a type that only this wrapper creates and that closing consumes, so no call can see a
//! handle that XRT did not give or that was already released.

use std::ffi::{CStr, c_char, c_int, c_uint, c_void};
use std::path::Path;

type Handle = *mut c_void;

/// `xrtBOSync`'s direction from host to card.
const SYNC_TO_DEVICE: c_int = 0;
/// `xrtBOSync`'s direction from card to host.
const SYNC_FROM_DEVICE: c_int = 1;
/// `xrtRunWait`'s state of a run that completed.
pub(super) const STATE_COMPLETED: c_int = 4;

/// The XRT functions used, as their C declarations (`xrt/xrt_device.h`, `xrt_kernel.h`, `xrt_bo.h`) give them.
struct Functions {
    device_open: unsafe extern "C" fn(c_uint) -> Handle,
    device_close: unsafe extern "C" fn(Handle) -> c_int,
    load_xclbin: unsafe extern "C" fn(Handle, *const c_char) -> c_int,
    xclbin_uuid: unsafe extern "C" fn(Handle, *mut u8) -> c_int,
    kernel_open: unsafe extern "C" fn(Handle, *const u8, *const c_char) -> Handle,
    kernel_close: unsafe extern "C" fn(Handle) -> c_int,
    arg_group: unsafe extern "C" fn(Handle, c_int) -> c_int,
    bo_alloc: unsafe extern "C" fn(Handle, usize, u64, u32) -> Handle,
    bo_free: unsafe extern "C" fn(Handle) -> c_int,
    bo_write: unsafe extern "C" fn(Handle, *const c_void, usize, usize) -> c_int,
    bo_read: unsafe extern "C" fn(Handle, *mut c_void, usize, usize) -> c_int,
    bo_sync: unsafe extern "C" fn(Handle, c_int, usize, usize) -> c_int,
    run_open: unsafe extern "C" fn(Handle) -> Handle,
    run_set_arg: unsafe extern "C" fn(Handle, c_int, ...) -> c_int,
    run_start: unsafe extern "C" fn(Handle) -> c_int,
    run_wait: unsafe extern "C" fn(Handle) -> c_int,
    run_close: unsafe extern "C" fn(Handle) -> c_int,
}

/// An open card.
pub(super) struct DeviceHandle(Handle);
/// A kernel of the loaded xclbin.
pub(super) struct KernelHandle(Handle);
/// A buffer object of `size` bytes.
pub(super) struct BufferHandle {
    handle: Handle,
    size: usize,
}
/// A run of a kernel.
pub(super) struct RunHandle(Handle);

/// The loaded XRT library.
pub(super) struct XrtApi {
    f: Functions,
    // keeps the functions in `f` mapped; dropped last
    _library: libloading::Library,
}

// SAFETY: the handles are plain pointers owned by one device, which one stream worker uses at a time.
unsafe impl Send for DeviceHandle {}
// SAFETY: as for `DeviceHandle`.
unsafe impl Send for KernelHandle {}
// SAFETY: as for `DeviceHandle`.
unsafe impl Send for BufferHandle {}
// SAFETY: as for `DeviceHandle`.
unsafe impl Send for RunHandle {}

impl XrtApi {
    /// Loads the library at `path` and resolves every function, or says which is missing.
    pub fn load(path: &Path) -> Result<Self, String> {
        // SAFETY: loading XRT (or its stand-in) runs its initialisers, as any XRT host program does.
        let library = unsafe { libloading::Library::new(path) }
            .map_err(|e| format!("cannot load the XRT library {}: {e}", path.display()))?;
        macro_rules! symbol {
            ($name:literal) => {
                // SAFETY: the field's type is the signature XRT's headers declare for this C function.
                *unsafe { library.get($name.as_bytes()) }
                    .map_err(|e| format!("the XRT library lacks {}: {e}", $name))?
            };
        }
        let f = Functions {
            device_open: symbol!("xrtDeviceOpen"),
            device_close: symbol!("xrtDeviceClose"),
            load_xclbin: symbol!("xrtDeviceLoadXclbinFile"),
            xclbin_uuid: symbol!("xrtDeviceGetXclbinUUID"),
            kernel_open: symbol!("xrtPLKernelOpen"),
            kernel_close: symbol!("xrtKernelClose"),
            arg_group: symbol!("xrtKernelArgGroupId"),
            bo_alloc: symbol!("xrtBOAlloc"),
            bo_free: symbol!("xrtBOFree"),
            bo_write: symbol!("xrtBOWrite"),
            bo_read: symbol!("xrtBORead"),
            bo_sync: symbol!("xrtBOSync"),
            run_open: symbol!("xrtRunOpen"),
            run_set_arg: symbol!("xrtRunSetArg"),
            run_start: symbol!("xrtRunStart"),
            run_wait: symbol!("xrtRunWait"),
            run_close: symbol!("xrtRunClose"),
        };
        Ok(XrtApi {
            f,
            _library: library,
        })
    }

    /// `xrtDeviceOpen(index)`.
    pub fn device_open(&self, index: u32) -> Option<DeviceHandle> {
        // SAFETY: takes a plain index; returns NULL on failure.
        let handle = unsafe { (self.f.device_open)(index) };
        (!handle.is_null()).then_some(DeviceHandle(handle))
    }

    /// `xrtDeviceClose`.
    pub fn device_close(&self, device: DeviceHandle) {
        // SAFETY: the handle came from xrtDeviceOpen and is consumed here, so it is closed once.
        unsafe { (self.f.device_close)(device.0) };
    }

    /// `xrtDeviceLoadXclbinFile`: 0 on success.
    pub fn load_xclbin(&self, device: &DeviceHandle, xclbin: &CStr) -> c_int {
        // SAFETY: an open device and a NUL-terminated path that outlives the call.
        unsafe { (self.f.load_xclbin)(device.0, xclbin.as_ptr()) }
    }

    /// `xrtDeviceGetXclbinUUID`: the loaded xclbin's 16-byte id, or the status.
    pub fn xclbin_uuid(&self, device: &DeviceHandle) -> Result<[u8; 16], c_int> {
        let mut uuid = [0u8; 16];
        // SAFETY: an open device and room for the 16 bytes XRT writes.
        match unsafe { (self.f.xclbin_uuid)(device.0, uuid.as_mut_ptr()) } {
            0 => Ok(uuid),
            status => Err(status),
        }
    }

    /// `xrtPLKernelOpen`.
    pub fn kernel_open(
        &self,
        device: &DeviceHandle,
        uuid: &[u8; 16],
        name: &CStr,
    ) -> Option<KernelHandle> {
        // SAFETY: an open device, a 16-byte uuid and a NUL-terminated name, all outliving the call.
        let handle = unsafe { (self.f.kernel_open)(device.0, uuid.as_ptr(), name.as_ptr()) };
        (!handle.is_null()).then_some(KernelHandle(handle))
    }

    /// `xrtKernelClose`.
    pub fn kernel_close(&self, kernel: KernelHandle) {
        // SAFETY: the handle came from xrtPLKernelOpen and is consumed here.
        unsafe { (self.f.kernel_close)(kernel.0) };
    }

    /// `xrtKernelArgGroupId`: the memory bank of argument `arg`, or a negative status.
    pub fn arg_group(&self, kernel: &KernelHandle, arg: c_int) -> c_int {
        // SAFETY: an open kernel and a plain index.
        unsafe { (self.f.arg_group)(kernel.0, arg) }
    }

    /// `xrtBOAlloc` of `size` bytes in bank `group`.
    pub fn bo_alloc(&self, device: &DeviceHandle, size: usize, group: u32) -> Option<BufferHandle> {
        // SAFETY: an open device and plain numbers.
        let handle = unsafe { (self.f.bo_alloc)(device.0, size, 0, group) };
        (!handle.is_null()).then_some(BufferHandle { handle, size })
    }

    /// `xrtBOFree`.
    pub fn bo_free(&self, bo: BufferHandle) {
        // SAFETY: the handle came from xrtBOAlloc and is consumed here.
        unsafe { (self.f.bo_free)(bo.handle) };
    }

    /// `xrtBOWrite` of `data` at offset 0 and `xrtBOSync` of those bytes to the card: 0 on success.
    pub fn write_to_device(&self, bo: &BufferHandle, data: &[u8]) -> c_int {
        if data.len() > bo.size {
            return -1;
        }
        // SAFETY: a live buffer of `bo.size` ≥ data.len() bytes, and `data` valid for data.len() bytes.
        match unsafe { (self.f.bo_write)(bo.handle, data.as_ptr().cast(), data.len(), 0) } {
            // SAFETY: the same buffer; the synced range lies inside it.
            0 => unsafe { (self.f.bo_sync)(bo.handle, SYNC_TO_DEVICE, data.len(), 0) },
            status => status,
        }
    }

    /// `xrtBOSync` from the card and `xrtBORead` into `out`, from offset 0: 0 on success.
    pub fn read_from_device(&self, bo: &BufferHandle, out: &mut [u8]) -> c_int {
        if out.len() > bo.size {
            return -1;
        }
        // SAFETY: a live buffer of `bo.size` ≥ out.len() bytes; the synced range lies inside it.
        match unsafe { (self.f.bo_sync)(bo.handle, SYNC_FROM_DEVICE, out.len(), 0) } {
            // SAFETY: the same buffer, and `out` valid for writing out.len() bytes.
            0 => unsafe { (self.f.bo_read)(bo.handle, out.as_mut_ptr().cast(), out.len(), 0) },
            status => status,
        }
    }

    /// `xrtRunOpen`.
    pub fn run_open(&self, kernel: &KernelHandle) -> Option<RunHandle> {
        // SAFETY: an open kernel.
        let handle = unsafe { (self.f.run_open)(kernel.0) };
        (!handle.is_null()).then_some(RunHandle(handle))
    }

    /// `xrtRunSetArg` of a buffer argument: 0 on success.
    pub fn run_set_buffer(&self, run: &RunHandle, index: c_int, bo: &BufferHandle) -> c_int {
        // SAFETY: an open run; a buffer argument is passed as the buffer's handle, as XRT's C API expects.
        unsafe { (self.f.run_set_arg)(run.0, index, bo.handle) }
    }

    /// `xrtRunSetArg` of an `unsigned int` argument: 0 on success.
    pub fn run_set_u32(&self, run: &RunHandle, index: c_int, value: u32) -> c_int {
        // SAFETY: an open run; a scalar argument is passed by value with its C type (unsigned int).
        unsafe { (self.f.run_set_arg)(run.0, index, value as c_uint) }
    }

    /// `xrtRunStart`: 0 on success.
    pub fn run_start(&self, run: &RunHandle) -> c_int {
        // SAFETY: an open run whose arguments were set.
        unsafe { (self.f.run_start)(run.0) }
    }

    /// `xrtRunWait` then `xrtRunClose`: the run's final state ([`STATE_COMPLETED`] when it completed).
    pub fn run_finish(&self, run: RunHandle) -> c_int {
        // SAFETY: an open run, waited for, then closed once (the handle is consumed).
        unsafe {
            let state = (self.f.run_wait)(run.0);
            (self.f.run_close)(run.0);
            state
        }
    }
}
