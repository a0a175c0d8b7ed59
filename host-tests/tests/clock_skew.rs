//! Clock skew between two hosts sharing one session directory (issue #12): the checks of
//! `common/skew.rs` on a local directory, two instances whose wall clocks are 60 s apart.
//! `gluster.rs` runs the same checks across two GlusterFS mounts.

mod common;

use common::*;

#[test]
fn hosts_with_skewed_clocks_on_one_directory() {
    let env = Env::new();
    skew::check(&env.tenant, &env.tenant, [runtime(), runtime()], "two hosts on one local directory");
}
