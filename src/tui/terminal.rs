//! The terminal guard: raw mode, alternate screen, bracketed paste, focus reports and the
//! window title on the way in; all of it undone on drop, on error and on panic.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};
use std::thread::ThreadId;

use crossterm::cursor::Show;
use crossterm::event::{
    DisableBracketedPaste, DisableFocusChange, EnableBracketedPaste, EnableFocusChange,
};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen,
};

static ACTIVE: AtomicBool = AtomicBool::new(false);
static HOOK: Once = Once::new();
static UI_THREAD: Mutex<Option<ThreadId>> = Mutex::new(None);

/// Holds the terminal in app mode while alive.
pub struct TerminalGuard(());

impl TerminalGuard {
    pub fn enter() -> io::Result<TerminalGuard> {
        HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                // A panic on the UI's thread ends the app: put the terminal back first so
                // the message is readable. Panics on other threads (a runtime task) are
                // caught there and the app goes on drawing, so leave the terminal alone.
                if *UI_THREAD.lock().unwrap_or_else(|e| e.into_inner())
                    == Some(std::thread::current().id())
                {
                    restore();
                }
                previous(info);
            }));
        });
        *UI_THREAD.lock().unwrap_or_else(|e| e.into_inner()) = Some(std::thread::current().id());
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        let guard = TerminalGuard(());
        // No queries to the terminal here (a cursor-position report arriving late would be
        // read as keys): just switch screens and clear.
        // The window title is pushed on the terminal's title stack (xterm's CSI 22 t) and
        // popped on the way out, so the unread count in it never outlives the app.
        execute!(
            io::stdout(),
            EnterAlternateScreen,
            EnableBracketedPaste,
            EnableFocusChange,
            Clear(ClearType::All)
        )?;
        let mut out = io::stdout();
        write!(out, "\x1b[22;0t\x1b]2;{}\x1b\\", super::app::TITLE)?;
        out.flush()?;
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Put the terminal back as we found it. Safe to call more than once.
pub fn restore() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let mut out = io::stdout();
    let _ = execute!(
        out,
        DisableFocusChange,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        Show
    );
    let _ = write!(out, "\x1b[23;0t");
    let _ = disable_raw_mode();
    let _ = out.flush();
}
