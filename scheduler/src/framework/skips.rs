//! [`Skips`]: which PreFilter / PreScore plugins returned Skip this cycle, by their
//! position in the profile — so the framework decides which Filter and Score plugins
//! run by a bit test rather than by comparing plugin names. The answer is always the
//! one the names in the [`CycleState`] give: when the state holds marks the cycle's own
//! loop did not make (a caller's, or a plugin's by hand), or a plugin sits past the
//! bits, the names decide.

use super::cycle_state::CycleState;

/// The bit of the plugin at `position`, if it has one.
fn bit(position: usize) -> Option<u128> {
    u32::try_from(position)
        .ok()
        .and_then(|i| 1_u128.checked_shl(i))
}

/// The PreFilter (or PreScore) plugins paired with a Filter (or Score) plugin: those
/// of the same name, as bits of their positions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Paired {
    bits: u128,
    /// Whether a plugin of the same name sits past the bits.
    far: bool,
}

impl Paired {
    /// The plugins among `names` (in profile order) called `name`.
    pub(crate) fn of<'a>(names: impl IntoIterator<Item = &'a str>, name: &str) -> Paired {
        let mut paired = Paired::default();
        for (i, n) in names.into_iter().enumerate() {
            if n == name {
                match bit(i) {
                    Some(bit) => paired.bits |= bit,
                    None => paired.far = true,
                }
            }
        }
        paired
    }
}

/// The positions of the plugins that skipped this cycle, as bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Skips {
    bits: u128,
    /// How many skips the cycle's own loop recorded.
    made: usize,
    /// The state's marks before the loop and the ones made by hand: names decide.
    by_name: bool,
}

impl Skips {
    /// Starts a loop over the plugins, with `marks` already in the state.
    pub(crate) fn start(marks: usize) -> Skips {
        Skips {
            by_name: marks != 0,
            ..Skips::default()
        }
    }

    /// Marks the plugin at `position` as skipped (its name went into the state too).
    pub(crate) fn mark(&mut self, position: usize) {
        self.made += 1;
        match bit(position) {
            Some(bit) => self.bits |= bit,
            None => self.by_name = true,
        }
    }

    /// Ends the loop, with `marks` now in the state: any the loop did not make mean
    /// a plugin marked one by hand.
    pub(crate) fn finish(&mut self, marks: usize) {
        if marks != self.made {
            self.by_name = true;
        }
    }

    /// Whether the plugin `paired` with skipped: by the bits, or by `by_name` (the
    /// state's names) when they cannot tell.
    pub(crate) fn skipped(
        self,
        paired: Paired,
        state: &CycleState,
        by_name: impl FnOnce(&CycleState) -> bool,
    ) -> bool {
        if self.by_name || paired.far {
            by_name(state)
        } else {
            self.bits & paired.bits != 0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_answer_for_every_plugin_of_the_name() {
        let state = CycleState::new();
        let paired = Paired::of(["A", "X", "B", "X"], "X");
        let mut skips = Skips::start(0);
        skips.mark(3);
        skips.finish(1);
        assert!(
            skips.skipped(paired, &state, |_| false),
            "the second X skipped"
        );
        assert!(!skips.skipped(Paired::of(["A", "X"], "A"), &state, |_| true));
        assert!(
            !skips.skipped(Paired::default(), &state, |_| true),
            "no pair, no skip"
        );
    }

    #[test]
    fn names_decide_when_the_bits_cannot() {
        let state = CycleState::new();
        let near = Paired::of(["X"], "X");
        let mut pre_marked = Skips::start(1);
        pre_marked.finish(1);
        assert!(pre_marked.skipped(near, &state, |_| true));
        let mut by_hand = Skips::start(0);
        by_hand.finish(1);
        assert!(by_hand.skipped(near, &state, |_| true));
        let mut far = Skips::start(0);
        far.mark(200);
        far.finish(1);
        assert!(far.skipped(near, &state, |_| true));
        let many: Vec<String> = (0..200).map(|i| format!("P{i}")).collect();
        let beyond = Paired::of(many.iter().map(String::as_str), "P150");
        let mut fine = Skips::start(0);
        fine.finish(0);
        assert!(
            fine.skipped(beyond, &state, |_| true),
            "past the bits: by name"
        );
        assert!(!fine.skipped(near, &state, |_| true), "nothing skipped");
    }
}
