//! One shard's history: its newest entries, oldest first, in a ring whose newest entry takes
//! the oldest's place once it is full, where a `VecDeque` moved both (a pop and a push, ~100
//! bytes each, on every collect of a full history).

/// Items oldest first: `items[head..]`, then `items[..head]`.
#[derive(Debug)]
pub(super) struct Ring<T> {
    items: Vec<T>,
    /// Where the oldest item is: 0 until the ring is full, and whenever it is rebuilt.
    head: usize,
}

impl<T> Default for Ring<T> {
    fn default() -> Self {
        Ring {
            items: Vec::new(),
            head: 0,
        }
    }
}

impl<T> From<Vec<T>> for Ring<T> {
    /// A ring of `items`, oldest first.
    fn from(items: Vec<T>) -> Self {
        Ring { items, head: 0 }
    }
}

impl<T> Ring<T> {
    pub(super) fn len(&self) -> usize {
        self.items.len()
    }

    /// Oldest first.
    pub(super) fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + Clone {
        let (newer, older) = self.items.split_at(self.head);
        older.iter().chain(newer)
    }

    /// The oldest item, when `capacity` items (or more) are held: the one whose place the next
    /// item takes. Put that item there, then [`turn`](Self::turn).
    #[inline]
    pub(super) fn oldest_when_full(&mut self, capacity: usize) -> Option<&mut T> {
        if self.items.len() < capacity {
            return None;
        }
        self.items.get_mut(self.head)
    }

    /// Makes the item just put in the oldest's place the newest.
    #[inline]
    pub(super) fn turn(&mut self) {
        self.head += 1;
        if self.head >= self.items.len() {
            self.head = 0;
        }
    }

    /// Adds `item` as the newest, to a ring holding fewer than `capacity` (see
    /// [`oldest_when_full`](Self::oldest_when_full)). Grows by doubling, never beyond
    /// `capacity`.
    #[inline]
    pub(super) fn push(&mut self, item: T, capacity: usize) {
        debug_assert!(self.items.len() < capacity && self.head == 0);
        let len = self.items.len();
        if len == self.items.capacity() {
            self.items.reserve_exact(len.max(4).min(capacity - len));
        }
        self.items.push(item);
    }

    /// Empties the ring; returns its items, oldest first.
    pub(super) fn take(&mut self) -> Vec<T> {
        let mut items = std::mem::take(&mut self.items);
        items.rotate_left(std::mem::take(&mut self.head));
        items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pushes `item` as a shard does: in the oldest's place once full; returns the item that
    /// gave way.
    fn add(ring: &mut Ring<u32>, item: u32, capacity: usize) -> Option<u32> {
        match ring.oldest_when_full(capacity) {
            Some(oldest) => {
                let gone = std::mem::replace(oldest, item);
                ring.turn();
                Some(gone)
            }
            None => {
                ring.push(item, capacity);
                None
            }
        }
    }

    #[test]
    fn the_ring_keeps_the_newest_in_order_and_never_grows_beyond_its_capacity() {
        for capacity in [1, 2, 3, 7, 64, 100] {
            let mut ring = Ring::default();
            for item in 0..500u32 {
                let gone = add(&mut ring, item, capacity);
                let kept = (item as usize + 1).min(capacity);
                assert_eq!(ring.len(), kept);
                assert_eq!(
                    gone,
                    (item as usize >= capacity).then(|| item - capacity as u32)
                );
                let expected: Vec<u32> = (item + 1 - kept as u32..=item).collect();
                assert_eq!(ring.iter().copied().collect::<Vec<_>>(), expected);
                assert_eq!(
                    ring.iter().rev().copied().collect::<Vec<_>>(),
                    expected.iter().rev().copied().collect::<Vec<_>>()
                );
                assert!(ring.items.capacity() <= capacity, "{capacity}");
            }
            let taken = ring.take();
            assert_eq!(taken, (500 - capacity as u32..500).collect::<Vec<_>>());
            assert_eq!(ring.len(), 0);
            // Usable again after being emptied.
            assert_eq!(add(&mut ring, 7, capacity), None);
            assert_eq!(ring.iter().copied().collect::<Vec<_>>(), [7]);
        }
    }

    #[test]
    fn a_ring_of_no_capacity_takes_nothing() {
        let mut ring: Ring<u32> = Ring::default();
        assert!(ring.oldest_when_full(0).is_none(), "nothing to give way");
        assert_eq!(ring.len(), 0);
        let rebuilt = Ring::from(vec![1, 2, 3]);
        assert_eq!(rebuilt.iter().copied().collect::<Vec<_>>(), [1, 2, 3]);
    }
}
