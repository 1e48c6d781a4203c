//! How a FIFO run spreads its messages over message groups, and groups over partitions.
//!
//! Every group has exactly one producer, so "in order within a group" has one meaning: in the
//! order of that producer's sequence numbers. Producer `p` of `P` owns the groups `p`, `p + P`,
//! `p + 2P`, … below `--groups` and sends its messages to them round robin.
//!
//! Peers without SQS's per-group locking (NATS JetStream, RabbitMQ) get the same guarantee the
//! way their users get it: partitions (a stream subject or a quorum queue each) with one consumer
//! apiece, every group pinned to one partition.

use anyhow::{Result, ensure};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Groups {
    producers: u32,
    total: u32,
}

impl Groups {
    pub fn new(producers: u32, total: u32) -> Result<Groups> {
        ensure!(producers >= 1, "a FIFO run needs a producer");
        ensure!(
            total >= producers,
            "--groups ({total}) must be at least the number of producers ({producers}): every \
             group has one producer"
        );
        Ok(Groups { producers, total })
    }

    pub fn total(&self) -> u32 {
        self.total
    }

    /// The group of producer `producer`'s message `sequence`.
    pub fn of(&self, producer: u32, sequence: u64) -> u32 {
        let owned = (self.total - producer).div_ceil(self.producers);
        producer + self.producers * (sequence % u64::from(owned)) as u32
    }

    /// The partition (of `partitions`) that carries `group`: a producer's groups are spread
    /// over every partition.
    pub fn partition(&self, group: u32, partitions: u32) -> u32 {
        (group / self.producers + group % self.producers) % partitions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_group_has_one_producer_and_is_used() {
        for (producers, total) in [(1, 1), (4, 4), (4, 64), (3, 10), (4, 1000)] {
            let groups = Groups::new(producers, total).unwrap();
            let mut owner = vec![None; total as usize];
            for producer in 0..producers {
                for sequence in 0..u64::from(total) * 2 {
                    let group = groups.of(producer, sequence);
                    assert!(group < total);
                    let owner = &mut owner[group as usize];
                    assert!(owner.is_none_or(|owner| owner == producer));
                    *owner = Some(producer);
                }
            }
            assert!(owner.iter().all(Option::is_some), "{producers} × {total}");
        }
    }

    #[test]
    fn groups_go_round_robin() {
        let groups = Groups::new(3, 10).unwrap(); // producer 0 owns 0, 3, 6, 9; producer 2: 2, 5, 8
        let sent: Vec<u32> = (0..5).map(|sequence| groups.of(0, sequence)).collect();
        assert_eq!(sent, [0, 3, 6, 9, 0]);
        let sent: Vec<u32> = (0..4).map(|sequence| groups.of(2, sequence)).collect();
        assert_eq!(sent, [2, 5, 8, 2]);
    }

    #[test]
    fn a_producers_groups_spread_over_every_partition() {
        let groups = Groups::new(4, 64).unwrap();
        for producer in 0..4 {
            let mut used = [false; 4];
            for sequence in 0..16 {
                used[groups.partition(groups.of(producer, sequence), 4) as usize] = true;
            }
            assert_eq!(used, [true; 4]);
        }
    }

    #[test]
    fn fewer_groups_than_producers_are_refused() {
        assert!(Groups::new(4, 3).is_err());
    }
}
