//! The language of the request being served. The HTTP edge negotiates it once per request
//! and runs the handler inside [`scope`]; pages, error pages and mails queued during the
//! request read it with [`current`] (English outside any request, e.g. in the mail worker).

use std::future::Future;

use super::Lang;

tokio::task_local! {
    static CURRENT: Lang;
}

/// Runs `fut` with `lang` as the request's language.
pub async fn scope<F: Future>(lang: Lang, fut: F) -> F::Output {
    CURRENT.scope(lang, fut).await
}

/// The language of the request being served, or English outside a request.
pub fn current() -> Lang {
    CURRENT.try_with(|l| *l).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_language_is_the_scopes_and_english_outside_any_scope() {
        assert_eq!(current(), Lang::En);
        assert_eq!(scope(Lang::Fr, async { current() }).await, Lang::Fr);
        assert_eq!(current(), Lang::En);
    }
}
