//! The x86-64 instructions the baseline compiler emits, encoded by hand: the few forms it
//! needs (64-bit moves, ALU operations with a memory or immediate operand, shifts, byte
//! swaps, calls and jumps through registers, jumps to labels), each written in a handful of
//! byte pushes, so that emitting costs about as much as copying the bytes.

/// A general-purpose register, numbered as the encoding numbers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum Reg {
    Rax = 0,
    Rcx = 1,
    Rdx = 2,
    Rbx = 3,
    Rsp = 4,
    Rbp = 5,
    Rsi = 6,
    Rdi = 7,
    R8 = 8,
    R9 = 9,
    R10 = 10,
    R11 = 11,
    R12 = 12,
    R13 = 13,
    R14 = 14,
    R15 = 15,
}

impl Reg {
    fn low(self) -> u8 {
        self as u8 & 7
    }

    fn high(self) -> u8 {
        self as u8 >> 3
    }
}

/// A memory operand: `[base + index * 2^scale + disp]`, or `[rip + label]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mem {
    /// `[base + disp]`.
    Base(Reg, i32),
    /// `[base + index * 2^scale]`.
    Indexed(Reg, Reg, u8),
}

impl Mem {
    /// REX's X and B bits: the high bits of the index and the base.
    fn rex_bits(self) -> (u8, u8) {
        match self {
            Mem::Base(base, _) => (0, base.high()),
            Mem::Indexed(base, index, _) => (index.high(), base.high()),
        }
    }
}

/// An ALU operation, by its encoding's group number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum Alu {
    Add = 0,
    Or = 1,
    Adc = 2,
    Sbb = 3,
    And = 4,
    Sub = 5,
    Xor = 6,
    Cmp = 7,
}

/// A condition code, as the encoding numbers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum Cond {
    /// Unsigned below (carry).
    B = 2,
    /// Unsigned above or equal (no carry).
    Ae = 3,
    E = 4,
    Ne = 5,
    /// Unsigned below or equal.
    Be = 6,
    /// Unsigned above.
    A = 7,
    /// Signed less.
    L = 0xc,
}

/// A place in the code, bound once; jumps to it are patched when the code is finished.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label(u32);

/// A buffer of machine code being written.
#[derive(Default)]
pub struct Asm {
    /// The bytes so far.
    pub buf: Vec<u8>,
    labels: Vec<Option<u32>>,
    /// Positions of 32-bit displacements relative to the end of the field, to patch to a label.
    fixups: Vec<(usize, Label)>,
}

impl Asm {
    /// An empty buffer with room for about `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Asm {
        Asm {
            buf: Vec::with_capacity(capacity),
            ..Asm::default()
        }
    }

    /// A fresh, unbound label.
    pub fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() as u32 - 1)
    }

    /// Binds `l` here.
    pub fn bind(&mut self, l: Label) {
        self.labels[l.0 as usize] = Some(self.buf.len() as u32);
    }

    /// Where `l` was bound, if it was.
    pub fn offset(&self, l: Label) -> Option<u32> {
        self.labels[l.0 as usize]
    }

    /// Patches every jump and RIP-relative address; `None` if one names an unbound label.
    pub fn finish(mut self) -> Option<Vec<u8>> {
        for &(at, l) in &self.fixups {
            let target = self.labels[l.0 as usize]? as i64;
            let rel = i32::try_from(target - (at as i64 + 4)).ok()?;
            self.buf[at..at + 4].copy_from_slice(&rel.to_le_bytes());
        }
        Some(self.buf)
    }

    fn byte(&mut self, b: u8) {
        self.buf.push(b);
    }

    fn imm32(&mut self, v: i32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    fn fixup(&mut self, l: Label) {
        self.fixups.push((self.buf.len(), l));
        self.imm32(0);
    }

    /// REX with W set, for a register in the reg field and an operand.
    fn rex_w(&mut self, reg: u8, m: Mem) {
        let (x, b) = m.rex_bits();
        self.byte(0x48 | (reg >> 3) << 2 | x << 1 | b);
    }

    /// REX (only when needed, or W) for a register-register form.
    fn rex_rr(&mut self, w: bool, reg: u8, rm: Reg) {
        let rex = (w as u8) << 3 | (reg >> 3) << 2 | rm.high();
        if rex != 0 {
            self.byte(0x40 | rex);
        }
    }

    /// ModRM (and SIB and displacement) for `reg` and memory operand `m`.
    fn modrm_mem(&mut self, reg: u8, m: Mem) {
        let reg = (reg & 7) << 3;
        match m {
            Mem::Base(base, disp) => {
                // rbp and r13 have no form without a displacement; rsp and r12 need a SIB.
                let md = if disp == 0 && base.low() != 5 {
                    0x00
                } else if i8::try_from(disp).is_ok() {
                    0x40
                } else {
                    0x80
                };
                self.byte(md | reg | base.low());
                if base.low() == 4 {
                    self.byte(0x24);
                }
                match md {
                    0x40 => self.byte(disp as i8 as u8),
                    0x80 => self.imm32(disp),
                    _ => {}
                }
            }
            Mem::Indexed(base, index, scale) => {
                debug_assert!(base.low() != 5 && index != Reg::Rsp);
                self.byte(reg | 4);
                self.byte(scale << 6 | index.low() << 3 | base.low());
            }
        }
    }

    /// `op` with a register in the reg field and a memory operand (64-bit).
    fn mem_form(&mut self, opcode: &[u8], reg: u8, m: Mem) {
        self.rex_w(reg, m);
        self.buf.extend_from_slice(opcode);
        self.modrm_mem(reg, m);
    }

    /// `mov dst, [m]`.
    pub fn load(&mut self, dst: Reg, m: Mem) {
        self.mem_form(&[0x8b], dst as u8, m);
    }

    /// A 32-bit `opcode` with a register in the reg field and a memory operand.
    fn mem_form32(&mut self, opcode: u8, reg: Reg, m: Mem) {
        let (x, b) = m.rex_bits();
        let rex = reg.high() << 2 | x << 1 | b;
        if rex != 0 {
            self.byte(0x40 | rex);
        }
        self.byte(opcode);
        self.modrm_mem(reg as u8, m);
    }

    /// `mov dst32, dword [m]` (zero-extended).
    pub fn load32(&mut self, dst: Reg, m: Mem) {
        self.mem_form32(0x8b, dst, m);
    }

    /// `mov [m], src`.
    pub fn store(&mut self, m: Mem, src: Reg) {
        self.mem_form(&[0x89], src as u8, m);
    }

    /// `mov dword [m], src32`.
    pub fn store32(&mut self, m: Mem, src: Reg) {
        self.mem_form32(0x89, src, m);
    }

    /// `test eax, imm`.
    pub fn test_eax_imm(&mut self, imm: u32) {
        self.byte(0xa9);
        self.imm32(imm as i32);
    }

    /// `mov qword [m], imm` (sign-extended 32-bit immediate).
    pub fn store_imm(&mut self, m: Mem, imm: i32) {
        self.mem_form(&[0xc7], 0, m);
        self.imm32(imm);
    }

    /// `lea dst, [m]`.
    pub fn lea(&mut self, dst: Reg, m: Mem) {
        self.mem_form(&[0x8d], dst as u8, m);
    }

    /// `lea dst, [rip + l]`.
    pub fn lea_label(&mut self, dst: Reg, l: Label) {
        self.byte(0x48 | dst.high() << 2);
        self.byte(0x8d);
        self.byte(dst.low() << 3 | 5);
        self.fixup(l);
    }

    /// `op dst, [m]`.
    pub fn alu_load(&mut self, op: Alu, dst: Reg, m: Mem) {
        self.mem_form(&[(op as u8) << 3 | 3], dst as u8, m);
    }

    /// `op [m], src`.
    pub fn alu_store(&mut self, op: Alu, m: Mem, src: Reg) {
        self.mem_form(&[(op as u8) << 3 | 1], src as u8, m);
    }

    /// `op dst, src`.
    pub fn alu(&mut self, op: Alu, dst: Reg, src: Reg) {
        self.rex_rr(true, src as u8, dst);
        self.byte((op as u8) << 3 | 1);
        self.byte(0xc0 | src.low() << 3 | dst.low());
    }

    /// `op qword [m], imm` (sign-extended immediate).
    pub fn alu_mem_imm(&mut self, op: Alu, m: Mem, imm: i32) {
        match i8::try_from(imm) {
            Ok(small) => {
                self.mem_form(&[0x83], op as u8, m);
                self.byte(small as u8);
            }
            Err(_) => {
                self.mem_form(&[0x81], op as u8, m);
                self.imm32(imm);
            }
        }
    }

    /// `op dst, imm` (sign-extended 32-bit immediate).
    pub fn alu_imm(&mut self, op: Alu, dst: Reg, imm: i32) {
        self.rex_rr(true, 0, dst);
        if let Ok(small) = i8::try_from(imm) {
            self.byte(0x83);
            self.byte(0xc0 | (op as u8) << 3 | dst.low());
            self.byte(small as u8);
        } else {
            self.byte(0x81);
            self.byte(0xc0 | (op as u8) << 3 | dst.low());
            self.imm32(imm);
        }
    }

    /// `mov dst, src`.
    pub fn mov(&mut self, dst: Reg, src: Reg) {
        self.rex_rr(true, src as u8, dst);
        self.byte(0x89);
        self.byte(0xc0 | src.low() << 3 | dst.low());
    }

    /// `dst = imm`, in the shortest form.
    pub fn mov_imm(&mut self, dst: Reg, imm: u64) {
        if let Ok(v) = u32::try_from(imm) {
            // mov r32, imm32 zero-extends.
            self.rex_rr(false, 0, dst);
            self.byte(0xb8 | dst.low());
            self.imm32(v as i32);
        } else if let Ok(v) = i32::try_from(imm as i64) {
            self.rex_rr(true, 0, dst);
            self.byte(0xc7);
            self.byte(0xc0 | dst.low());
            self.imm32(v);
        } else {
            self.rex_rr(true, 0, dst);
            self.byte(0xb8 | dst.low());
            self.buf.extend_from_slice(&imm.to_le_bytes());
        }
    }

    /// `not qword [m]`.
    pub fn not_mem(&mut self, m: Mem) {
        self.mem_form(&[0xf7], 2, m);
    }

    /// `shl dst, n`.
    pub fn shl_imm(&mut self, dst: Reg, n: u8) {
        self.rex_rr(true, 0, dst);
        self.byte(0xc1);
        self.byte(0xe0 | dst.low());
        self.byte(n);
    }

    /// `shr dst, n`.
    pub fn shr_imm(&mut self, dst: Reg, n: u8) {
        self.rex_rr(true, 0, dst);
        self.byte(0xc1);
        self.byte(0xe8 | dst.low());
        self.byte(n);
    }

    /// `mov dst32, src32` (zero-extending).
    pub fn mov32(&mut self, dst: Reg, src: Reg) {
        self.rex_rr(false, src as u8, dst);
        self.byte(0x89);
        self.byte(0xc0 | src.low() << 3 | dst.low());
    }

    /// `bswap dst`.
    pub fn bswap(&mut self, dst: Reg) {
        self.rex_rr(true, 0, dst);
        self.byte(0x0f);
        self.byte(0xc8 | dst.low());
    }

    /// `test a32, b32`.
    pub fn test32(&mut self, a: Reg, b: Reg) {
        self.rex_rr(false, b as u8, a);
        self.byte(0x85);
        self.byte(0xc0 | b.low() << 3 | a.low());
    }

    /// `test a, b` (64-bit).
    pub fn test(&mut self, a: Reg, b: Reg) {
        self.rex_rr(true, b as u8, a);
        self.byte(0x85);
        self.byte(0xc0 | b.low() << 3 | a.low());
    }

    /// `dst = cc ? 1 : 0` (`setcc` then `movzx`), for rax, rcx, rdx or rbx.
    pub fn set_flag(&mut self, cc: Cond, dst: Reg) {
        debug_assert!((dst as u8) < 4);
        self.byte(0x0f);
        self.byte(0x90 | cc as u8);
        self.byte(0xc0 | dst.low());
        self.byte(0x0f);
        self.byte(0xb6);
        self.byte(0xc0 | dst.low() << 3 | dst.low());
    }

    /// `call r`.
    pub fn call(&mut self, r: Reg) {
        self.rex_rr(false, 0, r);
        self.byte(0xff);
        self.byte(0xd0 | r.low());
    }

    /// `jmp r`.
    pub fn jmp_reg(&mut self, r: Reg) {
        self.rex_rr(false, 0, r);
        self.byte(0xff);
        self.byte(0xe0 | r.low());
    }

    /// `jmp l`.
    pub fn jmp(&mut self, l: Label) {
        self.byte(0xe9);
        self.fixup(l);
    }

    /// `jcc l`.
    pub fn jcc(&mut self, cc: Cond, l: Label) {
        self.byte(0x0f);
        self.byte(0x80 | cc as u8);
        self.fixup(l);
    }

    /// `push r`.
    pub fn push(&mut self, r: Reg) {
        self.rex_rr(false, 0, r);
        self.byte(0x50 | r.low());
    }

    /// `pop r`.
    pub fn pop(&mut self, r: Reg) {
        self.rex_rr(false, 0, r);
        self.byte(0x58 | r.low());
    }

    /// `ret`.
    pub fn ret(&mut self) {
        self.byte(0xc3);
    }

    /// Appends raw bytes (tables after the code).
    pub fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(f: impl FnOnce(&mut Asm)) -> Vec<u8> {
        let mut a = Asm::default();
        f(&mut a);
        a.finish().unwrap()
    }

    // Expected bytes as GNU as (binutils 2.40) assembles the same instructions: one table of
    // cases, long because every encoding the emitter uses has a case.
    #[test]
    fn encodings_match_the_assembler() {
        use Reg::*;
        let cases: Vec<(Vec<u8>, &[u8])> = vec![
            // mov rax, [r14 - 32]
            (
                bytes(|a| a.load(Rax, Mem::Base(R14, -32))),
                &[0x49, 0x8b, 0x46, 0xe0],
            ),
            // mov r12, [r15 + 8]
            (
                bytes(|a| a.load(R12, Mem::Base(R15, 8))),
                &[0x4d, 0x8b, 0x67, 0x08],
            ),
            // mov rcx, [r12]
            (
                bytes(|a| a.load(Rcx, Mem::Base(R12, 0))),
                &[0x49, 0x8b, 0x0c, 0x24],
            ),
            // mov rdx, [r13 + 0]
            (
                bytes(|a| a.load(Rdx, Mem::Base(R13, 0))),
                &[0x49, 0x8b, 0x55, 0x00],
            ),
            // mov [r14 + 0x1000], rax
            (
                bytes(|a| a.store(Mem::Base(R14, 0x1000), Rax)),
                &[0x49, 0x89, 0x86, 0x00, 0x10, 0x00, 0x00],
            ),
            // mov qword [r14 + 8], -1
            (
                bytes(|a| a.store_imm(Mem::Base(R14, 8), -1)),
                &[0x49, 0xc7, 0x46, 0x08, 0xff, 0xff, 0xff, 0xff],
            ),
            // mov eax, dword [rcx + rax*4]
            (
                bytes(|a| a.load32(Rax, Mem::Indexed(Rcx, Rax, 2))),
                &[0x8b, 0x04, 0x81],
            ),
            // mov eax, dword [rcx + rsi*4]
            (
                bytes(|a| a.load32(Rax, Mem::Indexed(Rcx, Rsi, 2))),
                &[0x8b, 0x04, 0xb1],
            ),
            // lea r12, [r12 - 2]
            (
                bytes(|a| a.lea(R12, Mem::Base(R12, -2))),
                &[0x4d, 0x8d, 0x64, 0x24, 0xfe],
            ),
            // adc rax, [r14 - 56]
            (
                bytes(|a| a.alu_load(Alu::Adc, Rax, Mem::Base(R14, -56))),
                &[0x49, 0x13, 0x46, 0xc8],
            ),
            // sbb rax, [r14 - 48]
            (
                bytes(|a| a.alu_load(Alu::Sbb, Rax, Mem::Base(R14, -48))),
                &[0x49, 0x1b, 0x46, 0xd0],
            ),
            // and [r14 - 64], rax
            (
                bytes(|a| a.alu_store(Alu::And, Mem::Base(R14, -64), Rax)),
                &[0x49, 0x21, 0x46, 0xc0],
            ),
            // add qword [r14 - 32], 0x20
            (
                bytes(|a| a.alu_mem_imm(Alu::Add, Mem::Base(R14, -32), 0x20)),
                &[0x49, 0x83, 0x46, 0xe0, 0x20],
            ),
            // adc qword [r14 - 24], 0
            (
                bytes(|a| a.alu_mem_imm(Alu::Adc, Mem::Base(R14, -24), 0)),
                &[0x49, 0x83, 0x56, 0xe8, 0x00],
            ),
            // add qword [rbx + 8], 0x12345
            (
                bytes(|a| a.alu_mem_imm(Alu::Add, Mem::Base(Rbx, 8), 0x12345)),
                &[0x48, 0x81, 0x43, 0x08, 0x45, 0x23, 0x01, 0x00],
            ),
            // cmp r13, 21
            (
                bytes(|a| a.alu_imm(Alu::Cmp, R13, 21)),
                &[0x49, 0x83, 0xfd, 0x15],
            ),
            // sub r13, 0x1000
            (
                bytes(|a| a.alu_imm(Alu::Sub, R13, 0x1000)),
                &[0x49, 0x81, 0xed, 0x00, 0x10, 0x00, 0x00],
            ),
            // add rax, rcx
            (bytes(|a| a.alu(Alu::Add, Rax, Rcx)), &[0x48, 0x01, 0xc8]),
            // or rax, r8
            (bytes(|a| a.alu(Alu::Or, Rax, R8)), &[0x4c, 0x09, 0xc0]),
            // mov r14, r12
            (bytes(|a| a.mov(R14, R12)), &[0x4d, 0x89, 0xe6]),
            // mov rdi, r15
            (bytes(|a| a.mov(Rdi, R15)), &[0x4c, 0x89, 0xff]),
            // mov esi, 0x1234
            (
                bytes(|a| a.mov_imm(Rsi, 0x1234)),
                &[0xbe, 0x34, 0x12, 0x00, 0x00],
            ),
            // mov rax, -2
            (
                bytes(|a| a.mov_imm(Rax, u64::MAX - 1)),
                &[0x48, 0xc7, 0xc0, 0xfe, 0xff, 0xff, 0xff],
            ),
            // movabs rax, 0x123456789a
            (
                bytes(|a| a.mov_imm(Rax, 0x12_3456_789a)),
                &[0x48, 0xb8, 0x9a, 0x78, 0x56, 0x34, 0x12, 0x00, 0x00, 0x00],
            ),
            // not qword [r14 - 32]
            (
                bytes(|a| a.not_mem(Mem::Base(R14, -32))),
                &[0x49, 0xf7, 0x56, 0xe0],
            ),
            // shl r14, 5
            (bytes(|a| a.shl_imm(R14, 5)), &[0x49, 0xc1, 0xe6, 0x05]),
            // shr rdx, 32
            (bytes(|a| a.shr_imm(Rdx, 32)), &[0x48, 0xc1, 0xea, 0x20]),
            // mov ecx, ecx
            (bytes(|a| a.mov32(Rcx, Rcx)), &[0x89, 0xc9]),
            // mov r9d, r10d
            (bytes(|a| a.mov32(R9, R10)), &[0x45, 0x89, 0xd1]),
            // bswap rcx
            (bytes(|a| a.bswap(Rcx)), &[0x48, 0x0f, 0xc9]),
            // test eax, eax
            (bytes(|a| a.test32(Rax, Rax)), &[0x85, 0xc0]),
            // test rax, rax
            (bytes(|a| a.test(Rax, Rax)), &[0x48, 0x85, 0xc0]),
            // setb cl; movzx ecx, cl
            (
                bytes(|a| a.set_flag(Cond::B, Rcx)),
                &[0x0f, 0x92, 0xc1, 0x0f, 0xb6, 0xc9],
            ),
            // mov dword [rcx], eax
            (bytes(|a| a.store32(Mem::Base(Rcx, 0), Rax)), &[0x89, 0x01]),
            // test eax, 1023
            (
                bytes(|a| a.test_eax_imm(1023)),
                &[0xa9, 0xff, 0x03, 0x00, 0x00],
            ),
            // call rax
            (bytes(|a| a.call(Rax)), &[0xff, 0xd0]),
            // jmp rax
            (bytes(|a| a.jmp_reg(Rax)), &[0xff, 0xe0]),
            // push r15; pop rbx
            (
                bytes(|a| {
                    a.push(R15);
                    a.pop(Rbx)
                }),
                &[0x41, 0x57, 0x5b],
            ),
        ];
        for (i, (got, want)) in cases.iter().enumerate() {
            assert_eq!(got.as_slice(), *want, "case {i}");
        }
    }

    #[test]
    fn jumps_and_rip_addresses_are_patched_to_their_labels() {
        let mut a = Asm::default();
        let l = a.label();
        let back = a.label();
        a.bind(back);
        a.jcc(Cond::Ne, l); // 6 bytes
        a.jmp(back); // 5 bytes, back to 0
        a.lea_label(Reg::Rcx, l); // 7 bytes
        a.bind(l);
        a.ret();
        let code = a.finish().unwrap();
        assert_eq!(&code[0..6], &[0x0f, 0x85, 12, 0, 0, 0]);
        assert_eq!(&code[6..11], &[0xe9, 0xf5, 0xff, 0xff, 0xff]);
        assert_eq!(&code[11..18], &[0x48, 0x8d, 0x0d, 0, 0, 0, 0]);
        let mut unbound = Asm::default();
        let nowhere = unbound.label();
        unbound.jmp(nowhere);
        assert!(unbound.finish().is_none());
    }
}
