//! Attack: code that runs without an `unsafe` block: a `safe fn` in an
//! `unsafe extern` block, and a constructor placed in .init_array.

unsafe extern "C" { // FORBIDDEN
    safe fn _exit(status: i32) -> !;
}

extern "C" fn before_main() {}

#[unsafe(link_section = ".init_array")]
#[used]
static CONSTRUCTOR: extern "C" fn() = before_main;

pub fn run(_me: usize) {
    if CONSTRUCTOR as usize == 0 {
        _exit(0);
    }
}
