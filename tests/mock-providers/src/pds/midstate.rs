//! SHA-1 with a readable chaining state, as the server side of parallel mode needs it: a
//! part's bytes, compressed from the `parallel_sha1_ctx` the client declared for it, must
//! end in the state it declared for the next part (doc §8c).

use sha1::digest::generic_array::GenericArray;

/// SHA-1's initial chaining value.
pub const IV: [u32; 5] = [
    0x6745_2301,
    0xEFCD_AB89,
    0x98BA_DCFE,
    0x1032_5476,
    0xC3D2_E1F0,
];

/// A running SHA-1 fed in arbitrary slices, starting from any 64-byte-aligned state.
#[derive(Clone)]
pub struct Running {
    h: [u32; 5],
    /// Bytes compressed so far, counted from the start of the file.
    compressed: u64,
    /// Bytes waiting for a whole block.
    pending: Vec<u8>,
}

impl Running {
    pub fn from_state(h: [u32; 5], offset: u64) -> Self {
        Running {
            h,
            compressed: offset,
            pending: Vec::with_capacity(64),
        }
    }

    pub fn update(&mut self, mut data: &[u8]) {
        if !self.pending.is_empty() {
            let take = (64 - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.pending.len() == 64 {
                let block = std::mem::take(&mut self.pending);
                self.compress(&block);
            }
        }
        let whole = data.len() - data.len() % 64;
        self.compress(&data[..whole]);
        self.pending.extend_from_slice(&data[whole..]);
    }

    fn compress(&mut self, blocks: &[u8]) {
        for block in blocks.chunks_exact(64) {
            sha1::compress(
                &mut self.h,
                std::slice::from_ref(GenericArray::from_slice(block)),
            );
        }
        self.compressed += blocks.len() as u64;
    }

    /// The chaining state, if everything fed so far filled whole blocks.
    pub fn state(&self) -> Option<[u32; 5]> {
        self.pending.is_empty().then_some(self.h)
    }

    /// The SHA-1 of the whole message (everything before the starting state included).
    pub fn finish(mut self) -> [u8; 20] {
        let bits = (self.compressed + self.pending.len() as u64) * 8;
        let mut tail = std::mem::take(&mut self.pending);
        tail.push(0x80);
        while tail.len() % 64 != 56 {
            tail.push(0);
        }
        tail.extend_from_slice(&bits.to_be_bytes());
        self.compress(&tail);
        let mut out = [0u8; 20];
        for (o, w) in out.chunks_exact_mut(4).zip(self.h) {
            o.copy_from_slice(&w.to_be_bytes());
        }
        out
    }
}

pub fn upper_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha1::{Digest, Sha1};

    #[test]
    fn matches_sha1_in_any_slicing_and_the_doc_vector() {
        let data: Vec<u8> = (0..100)
            .map(|i| format!("test-{i}"))
            .collect::<Vec<_>>()
            .join("\n")
            .into_bytes();
        let mut r = Running::from_state(IV, 0);
        for chunk in data[..768].chunks(37) {
            r.update(chunk);
        }
        assert_eq!(
            r.state(),
            Some([2781477636, 2167910136, 4107292220, 1153442652, 2872263382]),
            "doc §8c part 7"
        );
        let mut resumed = Running::from_state(r.state().unwrap(), 768);
        resumed.update(&data[768..]);
        assert_eq!(
            upper_hex(&resumed.finish()),
            "392AF61CCA9BC02502B0BB03B45ABD78601DD1DF"
        );
        for len in [0usize, 1, 55, 56, 63, 64, 65, 119, 120, 500] {
            let mut r = Running::from_state(IV, 0);
            r.update(&data[..len]);
            assert_eq!(
                r.finish().to_vec(),
                Sha1::digest(&data[..len]).to_vec(),
                "{len} bytes"
            );
        }
    }
}
