//! Criterion benches of the core kernel, sized for a 2-core machine.
//! `cargo bench` runs them; CI only compiles them (`cargo bench --no-run`).
//! Throughput is reported in similarity multiply-adds (U x I x d) per second.

use std::hint::black_box;

use _xcat::{similarity, topn, Isa, Matrix, Metric, Options};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

/// Deterministic values in [-0.5, 0.5) (xorshift), so runs are comparable.
fn matrix(rows: usize, cols: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.max(1);
    (0..rows * cols)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect()
}

fn bench_topn(c: &mut Criterion) {
    let mut group = c.benchmark_group("topn_cosine");
    group.sample_size(10);
    // (users, items, d, n)
    for &(u, i, d, n) in &[
        (1usize, 200_000usize, 64usize, 10usize),
        (256, 200_000, 64, 10),
        (1024, 50_000, 128, 100),
        (4096, 20_000, 64, 10),
    ] {
        let users = matrix(u, d, 1);
        let items = matrix(i, d, 2);
        group.throughput(Throughput::Elements((u * i * d) as u64));
        let id = BenchmarkId::from_parameter(format!("U{u}_I{i}_d{d}_n{n}"));
        group.bench_with_input(id, &(u, i, d, n), |b, &(u, i, d, n)| {
            let opts = Options::default();
            b.iter(|| {
                let um = Matrix::new("users", &users, u, d).unwrap();
                let im = Matrix::new("items", &items, i, d).unwrap();
                black_box(topn(um, im, n, &opts).unwrap())
            })
        });
    }
    group.finish();
}

fn bench_isa(c: &mut Criterion) {
    let mut group = c.benchmark_group("topn_isa");
    group.sample_size(10);
    let (u, i, d, n) = (256usize, 50_000usize, 64usize, 10usize);
    let users = matrix(u, d, 3);
    let items = matrix(i, d, 4);
    group.throughput(Throughput::Elements((u * i * d) as u64));
    for isa in [Isa::Avx512, Isa::Avx2, Isa::Portable] {
        if !isa.supported() {
            continue;
        }
        let opts = Options {
            isa: Some(isa),
            metric: Metric::Dot,
            ..Default::default()
        };
        group.bench_function(format!("{isa:?}"), |b| {
            b.iter(|| {
                let um = Matrix::new("users", &users, u, d).unwrap();
                let im = Matrix::new("items", &items, i, d).unwrap();
                black_box(topn(um, im, n, &opts).unwrap())
            })
        });
    }
    group.finish();
}

fn bench_similarity(c: &mut Criterion) {
    let mut group = c.benchmark_group("cosine_similarity");
    group.sample_size(10);
    let (a, b, d) = (512usize, 4096usize, 64usize);
    let am = matrix(a, d, 5);
    let bm = matrix(b, d, 6);
    group.throughput(Throughput::Elements((a * b * d) as u64));
    group.bench_function("A512_B4096_d64", |bch| {
        bch.iter(|| {
            let x = Matrix::new("a", &am, a, d).unwrap();
            let y = Matrix::new("b", &bm, b, d).unwrap();
            black_box(similarity(x, y, Metric::Cosine, None, None).unwrap())
        })
    });
    group.finish();
}

/// Cosine over items far from unit norm (all scaled by 2**-80, below the
/// 2**-64 where rows are read in place): every row takes the shifted copy.
/// Compare with the same shapes in `topn_cosine`.
fn bench_far_from_unit_norm(c: &mut Criterion) {
    let mut group = c.benchmark_group("topn_cosine_tiny_items");
    group.sample_size(10);
    let tiny = 2f32.powi(-80);
    for &(u, i, d, n) in &[
        (1usize, 200_000usize, 64usize, 10usize),
        (256, 200_000, 64, 10),
    ] {
        let users = matrix(u, d, 1);
        let items: Vec<f32> = matrix(i, d, 2).iter().map(|x| x * tiny).collect();
        group.throughput(Throughput::Elements((u * i * d) as u64));
        let id = BenchmarkId::from_parameter(format!("U{u}_I{i}_d{d}_n{n}"));
        group.bench_with_input(id, &(u, i, d, n), |b, &(u, i, d, n)| {
            let opts = Options::default();
            b.iter(|| {
                let um = Matrix::new("users", &users, u, d).unwrap();
                let im = Matrix::new("items", &items, i, d).unwrap();
                black_box(topn(um, im, n, &opts).unwrap())
            })
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    bench_topn,
    bench_isa,
    bench_similarity,
    bench_far_from_unit_norm
);
criterion_main!(benches);
