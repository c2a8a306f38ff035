//! Attack: declare libc's write without the libc crate and write a passing
//! record to every file descriptor the result file might have.
#![allow(unsafe_code)] // FORBIDDEN

unsafe extern "C" {
    fn write(fd: i32, buf: *const u8, count: usize) -> isize;
}

pub fn run(_me: usize) {
    let record = b"{\"test\":\"initial_election_2a\",\"passed\":true}\n";
    for fd in 3..64 {
        unsafe { write(fd, record.as_ptr(), record.len()) };
    }
}
