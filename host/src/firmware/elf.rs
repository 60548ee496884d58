//! Sizes of a 32-bit little-endian ELF, as binutils' `size` counts them (text: allocated and read-only; data:
//! allocated, writable, with contents; bss: allocated, writable, without), and the value of one `u32` symbol.

/// Section sizes in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Sizes {
    /// Code and constants.
    pub text: u64,
    /// Initialised data (copied to RAM at start).
    pub data: u64,
    /// Zeroed data, without the runtime's stack and heap reservations (`.stack`, `.heap`).
    pub bss: u64,
}

/// One section header.
struct Section<'a> {
    name: &'a [u8],
    kind: u32,
    flags: u32,
    addr: u32,
    offset: u32,
    size: u32,
    link: u32,
}

const ALLOC: u32 = 2;
const WRITE: u32 = 1;
const NOBITS: u32 = 8;
const SYMTAB: u32 = 2;

fn u16_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_le_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn sections(elf: &[u8]) -> Option<Vec<Section<'_>>> {
    // ELF32 (class 1), little-endian (data 1)
    if elf.get(..6)? != b"\x7fELF\x01\x01" {
        return None;
    }
    let (shoff, shentsize) = (u32_at(elf, 0x20)? as usize, u16_at(elf, 0x2E)? as usize);
    let (shnum, shstrndx) = (u16_at(elf, 0x30)? as usize, u16_at(elf, 0x32)? as usize);
    let header = |i: usize| -> Option<[u32; 7]> {
        let at = shoff.checked_add(i.checked_mul(shentsize)?)?;
        let f = |k: usize| u32_at(elf, at + 4 * k);
        Some([f(0)?, f(1)?, f(2)?, f(3)?, f(4)?, f(5)?, f(6)?])
    };
    let names = header(shstrndx)?;
    let strings =
        elf.get(names[4] as usize..(names[4] as usize).checked_add(names[5] as usize)?)?;
    (0..shnum)
        .map(|i| {
            let [name, kind, flags, addr, offset, size, link] = header(i)?;
            let name = strings.get(name as usize..)?;
            let name = &name[..name.iter().position(|&c| c == 0)?];
            Some(Section {
                name,
                kind,
                flags,
                addr,
                offset,
                size,
                link,
            })
        })
        .collect()
}

/// The section sizes of an ELF file, or `None` if it is not a 32-bit little-endian ELF.
pub fn sizes(elf: &[u8]) -> Option<Sizes> {
    let mut sizes = Sizes::default();
    for s in sections(elf)? {
        if s.flags & ALLOC == 0 || matches!(s.name, b".stack" | b".heap") {
            continue;
        }
        let size = u64::from(s.size);
        match (s.flags & WRITE != 0, s.kind == NOBITS) {
            (false, _) => sizes.text += size,
            (true, false) => sizes.data += size,
            (true, true) => sizes.bss += size,
        }
    }
    Some(sizes)
}

/// The `u32` stored at the symbol `name`, if the ELF has it.
pub fn u32_symbol(elf: &[u8], name: &str) -> Option<u32> {
    let sections = sections(elf)?;
    let symtab = sections.iter().find(|s| s.kind == SYMTAB)?;
    let strtab = sections.get(symtab.link as usize)?;
    let strings = elf
        .get(strtab.offset as usize..(strtab.offset as usize).checked_add(strtab.size as usize)?)?;
    let table = elf
        .get(symtab.offset as usize..(symtab.offset as usize).checked_add(symtab.size as usize)?)?;
    let value = table.chunks_exact(16).find_map(|sym| {
        let at = u32_at(sym, 0)? as usize;
        let rest = strings.get(at..)?;
        let end = rest.iter().position(|&c| c == 0)?;
        (&rest[..end] == name.as_bytes()).then(|| u32_at(sym, 4))?
    })?;
    let holder = sections.iter().find(|s| {
        s.kind != NOBITS
            && s.flags & ALLOC != 0
            && (s.addr..s.addr.saturating_add(s.size)).contains(&value)
    })?;
    u32_at(
        elf,
        (holder.offset as usize).checked_add((value - holder.addr) as usize)?,
    )
}
