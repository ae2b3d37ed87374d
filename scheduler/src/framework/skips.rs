//! [`Skips`]: which PreFilter / PreScore plugins returned Skip this cycle, by their
//! position in the profile — so the framework decides which Filter and Score plugins
//! run by a bit test rather than by comparing plugin names.

use super::cycle_state::CycleState;

/// Positions of the plugins that skipped, as bits; a position past the last bit is
/// looked up by name in the [`CycleState`] (where every skip is also recorded).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Skips(u128);

impl Skips {
    /// Marks the plugin at `position` as skipped.
    pub(crate) fn mark(&mut self, position: usize) {
        if position < 128 {
            self.0 |= 1 << position;
        }
    }

    /// Whether the plugin paired with the one at `position` (the PreFilter or PreScore
    /// plugin of the same name, if any) skipped; `by_name` answers for positions past
    /// the bits.
    pub(crate) fn skipped(
        self,
        position: Option<usize>,
        state: &CycleState,
        by_name: impl FnOnce(&CycleState) -> bool,
    ) -> bool {
        match position {
            None => false,
            Some(i) if i < 128 => self.0 & (1 << i) != 0,
            Some(_) => by_name(state),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_answer_and_far_positions_go_by_name() {
        let state = CycleState::new();
        let mut skips = Skips::default();
        skips.mark(3);
        skips.mark(200);
        assert!(skips.skipped(Some(3), &state, |_| false));
        assert!(
            !skips.skipped(Some(4), &state, |_| true),
            "bits decide below 128"
        );
        assert!(
            !skips.skipped(None, &state, |_| true),
            "no paired plugin, no skip"
        );
        assert!(skips.skipped(Some(200), &state, |_| true));
        assert!(!skips.skipped(Some(200), &state, |_| false));
    }
}
