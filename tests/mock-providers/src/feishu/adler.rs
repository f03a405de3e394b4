//! Adler-32 (RFC 1950), written out here so the mock does not share the client's code
//! (shared/providers/feishu.md §9).

const MOD: u32 = 65_521;
/// Largest n such that 255 n (n + 1) / 2 + (n + 1) (MOD − 1) fits in a u32: sums may be
/// reduced once per chunk of this many bytes.
const NMAX: usize = 5_552;

#[derive(Clone, Copy, Debug)]
pub(crate) struct Adler32 {
    a: u32,
    b: u32,
}

impl Default for Adler32 {
    fn default() -> Self {
        Adler32 { a: 1, b: 0 }
    }
}

impl Adler32 {
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(NMAX) {
            for &byte in chunk {
                self.a += u32::from(byte);
                self.b += self.a;
            }
            self.a %= MOD;
            self.b %= MOD;
        }
    }

    pub(crate) fn value(&self) -> u32 {
        (self.b << 16) | self.a
    }
}

#[cfg(test)]
fn adler32(bytes: &[u8]) -> u32 {
    let mut a = Adler32::default();
    a.update(bytes);
    a.value()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(adler32(b""), 1);
        assert_eq!(adler32(b"a"), 0x0062_0062);
        assert_eq!(adler32(b"abc"), 0x024d_0127);
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
        // Long input of 0xff: the reductions must keep up.
        let ff = vec![0xffu8; 100_000];
        let (mut a, mut b) = (1u64, 0u64);
        for &x in &ff {
            a = (a + u64::from(x)) % 65_521;
            b = (b + a) % 65_521;
        }
        assert_eq!(u64::from(adler32(&ff)), (b << 16) | a);
        // Streaming in odd pieces gives the same value.
        let mut s = Adler32::default();
        for piece in ff.chunks(7_777) {
            s.update(piece);
        }
        assert_eq!(s.value(), adler32(&ff));
    }
}
