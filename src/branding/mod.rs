//! The operator's brand: product name, logo, favicon, primary colour and custom stylesheet
//! from `[branding]`, read once at start into content-hashed assets, and the template
//! overrides (see [`overrides`]). No HTTP here: `http::assets` serves [`Asset`]s and
//! `http::render` and the mail renderer consult [`Overrides`].

/// Template overrides: a runtime Jinja environment (minijinja) over the override directory.
pub mod overrides;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::BrandingSettings;
pub use overrides::{Overrides, Translate};

/// Where brand assets are served.
pub const ASSET_PREFIX: &str = "/static/brand/";

/// A file served under [`ASSET_PREFIX`]: its name carries a hash of its bytes, so it is cached
/// for good and a changed file gets a new URL.
#[derive(Debug, Clone)]
pub struct Asset {
    /// The file name after the prefix, e.g. `logo-3f2a9c1b0d4e5f67.svg`.
    pub name: String,
    pub content_type: &'static str,
    pub body: Arc<[u8]>,
    /// A strong ETag (the full SHA-256), quoted.
    pub etag: String,
}

/// What the layout and the mail templates show of the brand.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BrandView {
    pub product_name: String,
    pub logo_url: Option<String>,
    pub favicon_url: Option<String>,
    /// The generated stylesheet setting the colour's CSS custom properties.
    pub colors_url: Option<String>,
    pub custom_css_url: Option<String>,
}

/// Everything `[branding]` configures, loaded and checked.
#[derive(Debug)]
pub struct Branding {
    pub view: Arc<BrandView>,
    pub assets: Vec<Asset>,
    pub overrides: Overrides,
}

impl Default for Branding {
    /// The built-in look: no assets, no overrides.
    fn default() -> Self {
        let view = BrandView { product_name: "Portcullis".into(), ..Default::default() };
        Self { view: Arc::new(view), assets: Vec::new(), overrides: Overrides::none() }
    }
}

impl Branding {
    /// Reads the brand files and compiles the overrides. Every failure names the setting (or the
    /// template file and line) so the start stops with a message the operator can act on.
    pub fn load(settings: &BrandingSettings, translate: Translate) -> anyhow::Result<Self> {
        let mut assets = Vec::new();
        let mut view = BrandView { product_name: settings.product_name.clone(), ..Default::default() };
        if let Some(asset) = file_asset("logo", &settings.logo, &["svg", "png", "jpg", "jpeg", "webp", "gif"])? {
            view.logo_url = Some(format!("{ASSET_PREFIX}{}", asset.name));
            assets.push(asset);
        }
        if let Some(asset) = file_asset("favicon", &settings.favicon, &["ico", "svg", "png"])? {
            view.favicon_url = Some(format!("{ASSET_PREFIX}{}", asset.name));
            assets.push(asset);
        }
        if let Some(color) = settings.primary_color {
            let css = format!(
                "/* Generated from branding.primary_color. */\n:root {{ --accent: {}; --accent-ink: {}; }}\n",
                color.css(),
                color.ink()
            );
            let asset = asset("colors", "css", css.into_bytes());
            view.colors_url = Some(format!("{ASSET_PREFIX}{}", asset.name));
            assets.push(asset);
        }
        if let Some(asset) = file_asset("custom_css", &settings.custom_css, &["css"])? {
            view.custom_css_url = Some(format!("{ASSET_PREFIX}{}", asset.name));
            assets.push(asset);
        }
        let view = Arc::new(view);
        let overrides = if settings.templates_dir.as_os_str().is_empty() {
            Overrides::none()
        } else {
            Overrides::load(&settings.templates_dir, &view, translate)?
        };
        Ok(Self { view, assets, overrides })
    }

    pub fn asset(&self, name: &str) -> Option<&Asset> {
        self.assets.iter().find(|a| a.name == name)
    }
}

/// The file a setting names, as an asset; `None` when the setting is empty.
fn file_asset(setting: &str, path: &Path, extensions: &[&str]) -> anyhow::Result<Option<Asset>> {
    if path.as_os_str().is_empty() {
        return Ok(None);
    }
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).unwrap_or_default();
    if !extensions.contains(&ext.as_str()) {
        anyhow::bail!("`branding.{setting}` ({}): the file must end in .{}", path.display(), extensions.join(", ."));
    }
    let bytes = std::fs::read(path).with_context(|| format!("`branding.{setting}`: reading {}", path.display()))?;
    let stem = setting.replace('_', "-");
    Ok(Some(asset(&stem, &ext, bytes)))
}

fn asset(stem: &str, ext: &str, bytes: Vec<u8>) -> Asset {
    let digest = Sha256::digest(&bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Asset {
        name: format!("{stem}-{}.{ext}", &hex[..16]),
        content_type: content_type(ext),
        body: bytes.into(),
        etag: format!("\"{hex}\""),
    }
}

fn content_type(ext: &str) -> &'static str {
    match ext {
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "ico" => "image/x-icon",
        _ => "text/css; charset=utf-8",
    }
}
