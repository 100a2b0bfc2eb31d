use super::*;
use rand::SeedableRng;

#[test]
fn snapping_keeps_the_day_and_a_distance_from_its_ends() {
    for ago in [0, 1, EDGE - 1, EDGE, DAY / 2, DAY - 1, DAY, 3 * DAY + 5, 10 * DAY - 3] {
        let snapped = snap(ago);
        assert_eq!(snapped / DAY, ago / DAY, "{ago}");
        assert!((EDGE..=DAY - EDGE).contains(&(snapped % DAY)), "{ago} → {snapped}");
    }
}

#[test]
fn weighted_draws_stay_in_range_and_favour_the_early_ones() {
    let mut rng = SmallRng::seed_from_u64(7);
    let mut seen = [0u32; 5];
    for _ in 0..10_000 {
        seen[early_index(&mut rng, 5)] += 1;
        assert!(weighted(&mut rng, &[1, 0, 3]) != 1);
    }
    assert!(seen.windows(2).all(|pair| pair[0] > pair[1]), "{seen:?}");
    assert_eq!(early_index(&mut rng, 1), 0);
}
